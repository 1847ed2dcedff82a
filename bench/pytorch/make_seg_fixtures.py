"""Writes the ResTv2 + UPerNet segmentation parity fixtures with seg_reference.py (the float64 reference).

    /usr/bin/python3 bench/pytorch/make_seg_fixtures.py [--out converters/src/test/resources/io/resttf/seg/parity]
    /usr/bin/python3 bench/pytorch/make_seg_fixtures.py --verify    # re-check the written cases from disk

The output is deterministic (byte-identical on rerun with torch 1.13.1).

One folder per case, `restv2_{tiny,small,base}-narrow-upernet`: the exact structure of the official
configs/ResTv2/upernet_restv2_{tiny,small,base}_512_160k_ade20k.py (depths, heads, sr_ratios, every layer,
UPerHead + FCN auxiliary head) with every width divided by 8 (embed_dims [12, 24, 48, 96], decode channels
512/8 = 64, auxiliary channels 256/8 = 32) and 10 classes. Every parameter and buffer is randomised from a
fixed seed (torch.manual_seed):
  conv / linear weights  N(0, 1/fan_in)  (fan_in = in/groups * kh * kw), so activations stay O(1)
  conv / linear biases   0.02 * N(0, 1)
  LayerNorm / BN weights 1 + 0.1 * N(0, 1);  biases 0.1 * N(0, 1)
  BN running_mean        0.1 * N(0, 1);  running_var U[0.5, 1.5];  num_batches_tracked int64 160000
Protocol: the weights are drawn and stored in float32; the reference runs in float64 on exactly those
(float32-rounded) weights and the float32 inputs, and is rounded to float32 at the end. The same model run
in float32 gives `official_fp32_max_abs_error` (per output, per input): the float32 noise floor.

Files per case: weights.pth (an official mmseg checkpoint: {'meta': {...}, 'state_dict': OrderedDict},
float32, zip), config.json, input_K.npy (NCHW float32), seg_logits_K.npy / stageN_K.npy / aux_logits_K.npy
(NHWC float32); the inputs are N(0, 1), the same in every case. See README.md next to the cases.
"""
import argparse
import json
import os
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seg_reference as sr  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_OUT = os.path.join(REPO, "converters", "src", "test", "resources", "io", "resttf", "seg", "parity")

WIDTH_DIVISOR = 8
NUM_CLASSES = 10
CHANNELS = 512 // WIDTH_DIVISOR
AUX_CHANNELS = 256 // WIDTH_DIVISOR
POOL_SCALES = [1, 2, 3, 6]
INPUT_SHAPES = [(1, 3, 128, 160), (2, 3, 224, 160)]
CASES = [("restv2_tiny-narrow-upernet", "restv2_tiny", 20230),
         ("restv2_small-narrow-upernet", "restv2_small", 20231),
         ("restv2_base-narrow-upernet", "restv2_base", 20232)]
ITERS = 160000
INPUT_SEED = 4242

# ADE20K's first 10 classes and palette entries (mmseg ADE20KDataset.CLASSES / PALETTE)
CLASSES = ("wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed ", "windowpane", "grass")
PALETTE = [[120, 120, 120], [180, 120, 120], [6, 230, 230], [80, 50, 50], [4, 200, 3], [120, 120, 80],
           [140, 140, 140], [204, 5, 255], [230, 230, 230], [4, 250, 7]]

CONFIG_TEMPLATE = """norm_cfg = dict(type='SyncBN', requires_grad=True)
backbone_norm_cfg = dict(type='LN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    pretrained=None,
    backbone=dict(
        type='ResTV2',
        in_chans=3,
        num_heads={num_heads},
        embed_dims={embed_dims},
        depths={depths},
        drop_path_rate={drop_path_rate},
        out_indices=(0, 1, 2, 3)),
    decode_head=dict(
        type='UPerHead',
        in_channels={embed_dims},
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels={channels},
        dropout_ratio=0.1,
        num_classes={num_classes},
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels={aux_in},
        in_index=2,
        channels={aux_channels},
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes={num_classes},
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
dataset_type = 'ADE20KDataset'
data_root = 'data/ade/ADEChallengeData2016'
img_norm_cfg = dict(
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
crop_size = (512, 512)
optimizer = dict(
    type='AdamW',
    lr=0.00006,
    betas=(0.9, 0.999),
    weight_decay=0.01)
optimizer_config = dict()
lr_config = dict(
    policy='poly',
    warmup='linear',
    warmup_iters=1500,
    warmup_ratio=1e-06,
    power=1.0,
    min_lr=0.0,
    by_epoch=False)
runner = dict(type='IterBasedRunner', max_iters=160000)
checkpoint_config = dict(by_epoch=False, interval=16000)
evaluation = dict(interval=16000, metric='mIoU', pre_eval=True)
work_dir = './work_dirs/{exp}'
gpu_ids = range(0, 8)
"""


def randomise_(model, seed):
    """Every parameter and buffer from a fixed seed (see the module docstring), in float32."""
    g = torch.Generator().manual_seed(seed)

    def normal(t, std=1.0, mean=0.0):
        t.copy_(torch.randn(t.shape, generator=g, dtype=torch.float32) * std + mean)

    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                fan_in = mod.weight[0].numel()
                normal(mod.weight, std=fan_in ** -0.5)
                if mod.bias is not None:
                    normal(mod.bias, std=0.02)
            elif isinstance(mod, (nn.LayerNorm, sr.LayerNorm)):
                normal(mod.weight, std=0.1, mean=1.0)
                normal(mod.bias, std=0.1)
            elif isinstance(mod, nn.BatchNorm2d):
                normal(mod.weight, std=0.1, mean=1.0)
                normal(mod.bias, std=0.1)
                normal(mod.running_mean, std=0.1)
                mod.running_var.copy_(0.5 + torch.rand(mod.running_var.shape, generator=g, dtype=torch.float32))
                mod.num_batches_tracked.fill_(ITERS)
    n_tensors = len(model.state_dict())
    n_seen = sum(len(list(m.parameters(recurse=False))) + len(list(m.buffers(recurse=False))) for m in model.modules()
                 if isinstance(m, (nn.Conv2d, nn.Linear, nn.LayerNorm, sr.LayerNorm, nn.BatchNorm2d)))
    assert n_seen == n_tensors, "%d of %d state tensors randomised" % (n_seen, n_tensors)


def nhwc(t):
    return np.ascontiguousarray(t.permute(0, 2, 3, 1).numpy())


def run(model, x):
    with torch.no_grad():
        seg, stages, aux = model.forward_all(x)
    out = OrderedDict([("seg_logits", seg)])
    for i, s in enumerate(stages):
        out["stage%d" % (i + 1)] = s
    out["aux_logits"] = aux
    return out


SLIDE_CROP, SLIDE_STRIDE = 96, 64


def make_case(out_dir, name, variant, seed, input_ids=None, slide=False):
    v = sr.SEG_VARIANTS[variant]
    dims = [c // WIDTH_DIVISOR for c in v["embed_dims"]]
    cfg = OrderedDict([
        ("name", name),
        ("variant", variant),
        ("official_config", "semantic_segmentation/configs/ResTv2/upernet_%s_512_160k_ade20k.py" % variant),
        ("width_divisor", WIDTH_DIVISOR),
        ("backbone", OrderedDict([("type", "ResTV2"), ("embed_dims", dims), ("num_heads", v["num_heads"]),
                                  ("depths", v["depths"]), ("sr_ratios", v["sr_ratios"]), ("in_chans", 3),
                                  ("out_indices", [0, 1, 2, 3])])),
        ("head", OrderedDict([("type", "UPerHead"), ("in_index", [0, 1, 2, 3]), ("channels", CHANNELS),
                              ("pool_scales", POOL_SCALES), ("num_classes", NUM_CLASSES), ("align_corners", False),
                              ("dropout_ratio", 0.1), ("aux_type", "FCNHead"), ("aux_in_index", 2),
                              ("aux_channels", AUX_CHANNELS), ("aux_num_convs", 1), ("aux_kernel_size", 3),
                              ("aux_concat_input", False)])),
        ("layer_norm_eps", 1e-6),
        ("batch_norm_eps", 1e-5),
        ("seed", seed),
        ("input_seed", INPUT_SEED),
    ])
    torch.manual_seed(seed)
    model = sr.build_seg(cfg).float().eval()
    randomise_(model, seed)
    ref = sr.build_seg(cfg).double().eval()
    ref.load_state_dict(model.state_dict())
    for (k, a), (k2, b) in zip(model.state_dict().items(), ref.state_dict().items()):
        assert k == k2 and (a.dtype == torch.int64 or torch.equal(a.double(), b)), k

    case_dir = os.path.join(out_dir, name)
    os.makedirs(case_dir, exist_ok=True)

    sd = model.state_dict()  # OrderedDict with _metadata, as mmcv's get_state_dict returns
    for k, t in sd.items():
        assert t.dtype in (torch.float32, torch.int64), (k, t.dtype)
    fmt = dict(num_heads=v["num_heads"], embed_dims=dims, depths=v["depths"], drop_path_rate=v["drop_path_rate"],
               channels=CHANNELS, aux_channels=AUX_CHANNELS, aux_in=dims[2], num_classes=NUM_CLASSES,
               exp="upernet_%s_512_160k_ade20k" % variant)
    meta = {
        "mmseg_version": "0.20.2",
        "config": CONFIG_TEMPLATE.format(**fmt),
        "CLASSES": CLASSES,
        "PALETTE": PALETTE,
        "env_info": "sys.platform: linux\nPython: 3.7.11\nCUDA available: True\nGPU 0,1,2,3,4,5,6,7: "
                    "NVIDIA GeForce RTX 3090\nPyTorch: 1.8.0\nTorchVision: 0.9.0\nOpenCV: 4.5.4\n"
                    "MMCV: 1.3.17\nMMCV Compiler: GCC 7.3\nMMCV CUDA Compiler: 11.1\nMMSegmentation: 0.20.2",
        "seed": 0,
        "exp_name": "upernet_%s_512_160k_ade20k.py" % variant,
        "iter": ITERS,
        "mmcv_version": "1.3.17",
        "time": "Mon Jan  3 10:00:00 2022",
    }
    torch.save({"meta": meta, "state_dict": sd}, os.path.join(case_dir, "weights.pth"))

    g = torch.Generator().manual_seed(INPUT_SEED)  # the same inputs in every case (git stores them once)
    inputs_cfg = []
    for k, shape in enumerate(INPUT_SHAPES):
        x32 = torch.randn(shape, generator=g, dtype=torch.float32)
        if input_ids is not None and k not in input_ids:
            continue
        np.save(os.path.join(case_dir, "input_%d.npy" % k), x32.numpy())
        out64 = run(ref, x32.double())
        out32 = run(model, x32)
        files = OrderedDict([("input", "input_%d.npy" % k)])
        err = OrderedDict()
        shapes = OrderedDict()
        for name_o, t in out64.items():
            a = nhwc(t.float())
            fn = "%s_%d.npy" % (name_o, k)
            np.save(os.path.join(case_dir, fn), a)
            files[name_o] = fn
            shapes[name_o] = list(a.shape)
            err[name_o] = float((out32[name_o].double() - t).abs().max())
        if slide and k == 0:
            # mmseg's slide mode on input 0 (128x160): 96^2 crops every 64 px, 2x2 overlapping crops
            with torch.no_grad():
                sl = ref.slide_inference(x32.double(), SLIDE_CROP, SLIDE_STRIDE)
            np.save(os.path.join(case_dir, "slide_logits_%d.npy" % k), nhwc(sl.float()))
            files["slide_logits"] = "slide_logits_%d.npy" % k
            cfg["slide"] = OrderedDict([("crop", SLIDE_CROP), ("stride", SLIDE_STRIDE), ("input", k)])
        inputs_cfg.append(OrderedDict([
            ("k", k), ("shape_nchw", list(shape)), ("files", files), ("output_shapes_nhwc", shapes),
            ("official_fp32_max_abs_error", err),
            ("seg_logits_abs_max", float(out64["seg_logits"].abs().max())),
        ]))
        print("  %s input %d %s: |seg| max %.3f, fp32 vs fp64 %s" % (
            name, k, shape, float(out64["seg_logits"].abs().max()),
            ", ".join("%s %.1e" % (n, e) for n, e in err.items())))
    cfg["checkpoint"] = OrderedDict([
        ("file", "weights.pth"),
        ("wrapper", "state_dict"),
        ("meaning", "an mmseg (mmcv 1.x save_checkpoint) checkpoint: {'meta': {...}, 'state_dict': OrderedDict}, "
                    "keys backbone.* / decode_head.* / auxiliary_head.*, no optimizer"),
        ("format", "zip (torch >= 1.6)"),
        ("storage_dtype", "float32"),
        ("num_keys", len(sd)),
    ])
    cfg["layouts"] = "inputs NCHW; every output NHWC [B, H, W, C]; weights PyTorch layouts (Conv2d [out, in/groups, kh, kw], Linear [out, in])"
    cfg["outputs"] = OrderedDict([
        ("seg_logits", "EncoderDecoder.encode_decode: UPerHead logits (stride 4) resized to the input size, "
                       "bilinear, align_corners=False; [B, H, W, num_classes]"),
        ("stageN", "backbone output N (after norm_N, the channels-first LayerNorm eps 1e-6), stride 2^(N+1)"),
        ("aux_logits", "FCNHead (auxiliary_head) logits at stride 16, not resized"),
    ])
    cfg["protocol"] = ("float32 weights as stored; reference run in float64 on those weights and on the float32 "
                       "inputs, rounded to float32 at the end; official_fp32_max_abs_error = max |float32 run - "
                       "float64 run| of the same reference code (the float32 noise floor)")
    cfg["inputs"] = inputs_cfg
    with open(os.path.join(case_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
        f.write("\n")


def verify_case(case_dir, tol=2e-7):
    """Reloads a written case from disk (weights.pth as a reader would see it) and recomputes every output
    in float64; returns the largest |recomputed - stored| (float32 storage rounding only: ~1e-7)."""
    with open(os.path.join(case_dir, "config.json")) as f:
        cfg = json.load(f)
    ckpt = torch.load(os.path.join(case_dir, "weights.pth"), map_location="cpu")
    assert set(ckpt) == {"meta", "state_dict"}, list(ckpt)
    model = sr.build_seg(cfg).double().eval()
    want = sr.expected_keys(cfg["backbone"]["embed_dims"], cfg["backbone"]["depths"], cfg["backbone"]["sr_ratios"],
                            cfg["head"]["channels"], cfg["head"]["aux_channels"], cfg["head"]["num_classes"])
    got = [(k, tuple(v.shape)) for k, v in ckpt["state_dict"].items()]
    assert got == want, "checkpoint keys differ from the hand-written mmseg list"
    model.load_state_dict(ckpt["state_dict"], strict=True)
    worst = 0.0
    for inp in cfg["inputs"]:
        x = torch.from_numpy(np.load(os.path.join(case_dir, inp["files"]["input"]))).double()
        assert list(x.shape) == inp["shape_nchw"]
        for name_o, t in run(model, x).items():
            stored = np.load(os.path.join(case_dir, inp["files"][name_o]))
            assert list(stored.shape) == inp["output_shapes_nhwc"][name_o]
            e = float(np.abs(nhwc(t) - stored.astype(np.float64)).max() / max(1.0, np.abs(stored).max()))
            worst = max(worst, e)
    print("  %s: %d keys as mmseg's, outputs reproduced from disk to %.1e (relative to max(1, |ref|))"
          % (os.path.basename(case_dir), len(got), worst))
    return worst <= tol


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--cases", default=",".join(c[0] for c in CASES))
    ap.add_argument("--verify", action="store_true", help="only re-check the cases already in --out")
    ap.add_argument("--inputs", default=",".join(str(k) for k in range(len(INPUT_SHAPES))),
                    help="which of the input batches to write (default all: 0,1); fewer = smaller fixtures")
    ap.add_argument("--slide-cases", default="restv2_tiny-narrow-upernet",
                    help="cases that also get slide_logits_0.npy (mmseg slide mode, crop %d, stride %d)"
                    % (SLIDE_CROP, SLIDE_STRIDE))
    ap.add_argument("--inputs-per-case", default="restv2_small-narrow-upernet:0,restv2_base-narrow-upernet:0",
                    help="CASE:K[+K...] overrides of --inputs (the committed fixtures: small and base keep input 0 only,"
                    " to keep the repository small)")
    args = ap.parse_args()
    per_case = {}
    for item in filter(None, args.inputs_per_case.split(",")):
        case, ks = item.split(":")
        per_case[case] = [int(k) for k in ks.split("+")]
    torch.set_num_threads(1)
    want = args.cases.split(",")
    ok = True
    for name, variant, seed in CASES:
        if name in want:
            if not args.verify:
                make_case(args.out, name, variant, seed,
                          per_case.get(name, [int(k) for k in args.inputs.split(",")]),
                          slide=name in args.slide_cases.split(","))
            ok &= verify_case(os.path.join(args.out, name))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
