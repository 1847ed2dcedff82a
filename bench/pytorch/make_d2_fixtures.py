"""Writes the detectron2-backbone parity fixtures (ResT v1 and ResTv2) with d2_reference.py (the float64 reference).

    /usr/bin/python3 bench/pytorch/make_d2_fixtures.py [--out converters/src/test/resources/io/resttf/d2/parity]
    /usr/bin/python3 bench/pytorch/make_d2_fixtures.py --verify    # re-check the written cases from disk

The output is deterministic (same tensors on rerun with torch 1.13).

One folder per case:
  restv2_tiny-narrow-d2  the structure of build_restv2_backbone('restv2_tiny') (depths [1,2,6,2], heads [1,2,4,8],
                         sr_ratios [8,4,2,1]) with widths / 8: embed_dims [12, 24, 48, 96]
  rest_small-narrow-d2   the structure of build_rest_backbone('rest_small') (depths [2,2,6,2], heads [1,2,4,8],
                         sr [8,4,2,1], mlp 4, qkv_bias, apply_transform) with widths / 8: embed_dims [8, 16, 32, 64]
OUT_FEATURES stage1..stage4 (the official Mask R-CNN configs). Every parameter and buffer is random from a fixed
seed, as make_seg_fixtures.py does it:
  conv / linear weights  N(0, 1/fan_in);  conv / linear biases 0.02 * N(0, 1)
  LayerNorm / BN weights 1 + 0.1 * N(0, 1);  biases 0.1 * N(0, 1)
  BN running_mean 0.1 * N(0, 1);  running_var U[0.5, 1.5];  num_batches_tracked int64 270000
Protocol: weights drawn and stored in float32; the reference runs in float64 on exactly those weights and the
float32 input, rounded to float32 at the end; the same code in float32 gives official_fp32_max_abs_error.

Files per case (see README.md next to the cases): model_final.pth (a detectron2 training checkpoint),
model_final.pkl (detectron2 model-zoo pickle, protocol 2), model_final_p4.pkl (protocol 4),
converted_from_classification.pth (what the official convert_to_d2.py writes for a classification checkpoint
of the same trunk), config.json, input_0.npy (NCHW), stageN_0.npy and stageN_fresh_0.npy (NHWC).
"""
import argparse
import io
import json
import os
import pickle
import pickletools
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import d2_reference as d2  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_OUT = os.path.join(REPO, "converters", "src", "test", "resources", "io", "resttf", "d2", "parity")

PREFIX = "backbone.bottom_up."
WIDTH_DIVISOR = 8
ITERS = 270000
NUM_CLASSES_CLS = 100  # the classification checkpoint's head (the official ones have 1000; 100 keeps the files small, it is ignored anyway)
INPUT_SHAPES = [(1, 3, 128, 160)]
INPUT_SEED = 4242  # same generator as make_seg_fixtures: input_0 is the seg fixtures' input_0
CASES = [("restv2_tiny-narrow-d2", "restv2_tiny", 20240,
          "object_detection/configs/ResTv2/mask_rcnn_restv2_tiny_FPN_3x.yaml"),
         ("rest_small-narrow-d2", "rest_small", 20241,
          "object_detection/configs/ResTv1/mask_rcnn_rest_small_FPN_1x.yaml")]
FPN_CH = 8  # fake detector keys (a reader must ignore them)


def randomise_(model, g, skip=()):
    """Every parameter and buffer of the modules (not in skip) from generator g, in float32."""
    def normal(t, std=1.0, mean=0.0):
        t.copy_(torch.randn(t.shape, generator=g, dtype=torch.float32) * std + mean)

    n_seen = 0
    with torch.no_grad():
        for name, mod in model.named_modules():
            if name in skip:
                continue
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                normal(mod.weight, std=mod.weight[0].numel() ** -0.5)
                if mod.bias is not None:
                    normal(mod.bias, std=0.02)
            elif isinstance(mod, (nn.LayerNorm, d2.LayerNorm)):
                normal(mod.weight, std=0.1, mean=1.0)
                normal(mod.bias, std=0.1)
            elif isinstance(mod, nn.BatchNorm2d):
                normal(mod.weight, std=0.1, mean=1.0)
                normal(mod.bias, std=0.1)
                normal(mod.running_mean, std=0.1)
                mod.running_var.copy_(0.5 + torch.rand(mod.running_var.shape, generator=g, dtype=torch.float32))
                mod.num_batches_tracked.fill_(ITERS)
            else:
                continue
            n_seen += len(list(mod.parameters(recurse=False))) + len(list(mod.buffers(recurse=False)))
    return n_seen


def nhwc(t):
    return np.ascontiguousarray(t.permute(0, 2, 3, 1).numpy())


def run(model, x):
    with torch.no_grad():
        return model(x)


def backbone_cfg(variant):
    v = d2.D2_VARIANTS[variant]
    cfg = OrderedDict([("family", v["family"]), ("embed_dims", [c // WIDTH_DIVISOR for c in v["embed_dims"]]),
                       ("num_heads", v["num_heads"]), ("depths", v["depths"]), ("sr_ratios", v["sr_ratios"]),
                       ("mlp_ratios", v.get("mlp_ratios", [4, 4, 4, 4])), ("in_chans", 3)])
    if v["family"] == "v2":
        cfg.update(qkv_bias=True, apply_transform=False, layer_norm_eps=1e-6)
    else:
        cfg.update(qkv_bias=True, apply_transform=True, layer_norm_eps=1e-5)
    cfg["out_features"] = list(d2.FEATURES)
    return cfg


def load_as_d2(cfg, flat_sd):
    """What detectron2's checkpointer does with a {'backbone.bottom_up.<k>': tensor, ...} dict for the backbone:
    keys under the prefix are loaded by name (strict=False), the rest reported and ignored; missing keys keep
    the fresh init (nn.LayerNorm / utils.LayerNorm: weight 1, bias 0). Returns (model fp64, missing, unexpected)."""
    model = d2.build_d2(cfg).double().eval()
    sd = OrderedDict((k[len(PREFIX):], torch.as_tensor(v)) for k, v in flat_sd.items() if k.startswith(PREFIX))
    res = model.load_state_dict(sd, strict=False)
    return model, list(res.missing_keys), list(res.unexpected_keys)


def pickle_info(path):
    with open(path, "rb") as f:
        raw = f.read()
    globals_ = set()
    ops = set()
    for op, arg, _ in pickletools.genops(io.BytesIO(raw)):
        ops.add(op.name)
        if op.name == "GLOBAL":
            globals_.add(arg.replace(" ", "."))
    return raw[:2], globals_, ops


def side_norm_keys(cfg):
    if cfg["family"] == "v2":
        return ["norm_%d.0.%s" % (int(f[-1]), n) for f in cfg["out_features"] for n in ("weight", "bias")]
    return ["norm%d.%s" % (int(f[-1]), n) for f in cfg["out_features"] if f != "stage4" for n in ("weight", "bias")]


# cases that also get the .pkl forms (the ResT v1 case, whose weights are the smaller)
PKL_CASES = ("rest_small-narrow-d2",)


def make_case(out_dir, name, variant, seed, yaml):
    cfg = backbone_cfg(variant)
    fam = cfg["family"]
    torch.manual_seed(seed)
    model = d2.build_d2(cfg).float().eval()
    g = torch.Generator().manual_seed(seed)
    n = randomise_(model, g)
    sd = model.state_dict()
    assert n == len(sd), "%d of %d tensors randomised" % (n, len(sd))
    want = d2.expected_keys(cfg)
    assert [(k, tuple(t.shape)) for k, t in sd.items()] == want
    ref = d2.build_d2(cfg).double().eval()
    ref.load_state_dict(sd, strict=True)

    # the classification model of the same trunk (for converted_from_classification.pth)
    cls = d2.classification_model(cfg, NUM_CLASSES_CLS).float().eval()
    res = cls.load_state_dict(sd, strict=False)
    cls_only = ["norm.weight", "norm.bias", "head.weight", "head.bias"] if fam == "v2" else ["head.weight", "head.bias"]
    assert sorted(res.missing_keys) == sorted(cls_only), res.missing_keys
    assert sorted(res.unexpected_keys) == sorted(side_norm_keys(cfg)), res.unexpected_keys
    gc = torch.Generator().manual_seed(seed + 1000)
    skip = {n_ for n_, _ in cls.named_modules() if n_ not in ("head", "norm" if fam == "v2" else "head")}
    randomise_(cls, gc, skip=skip)
    cls_sd = cls.state_dict()
    assert [(k, tuple(t.shape)) for k, t in cls_sd.items()] == d2.expected_keys(cfg, True, NUM_CLASSES_CLS)

    case_dir = os.path.join(out_dir, name)
    os.makedirs(case_dir, exist_ok=True)

    # --- model_final.pth: detectron2 training checkpoint (GeneralizedRCNN.state_dict order: the FPN registers
    # its lateral/output convs before bottom_up, roi_heads come after the backbone)
    fake = OrderedDict()
    fake["backbone.fpn_lateral2.weight"] = torch.randn((FPN_CH, cfg["embed_dims"][0], 1, 1), generator=gc)
    fake["backbone.fpn_output2.weight"] = torch.randn((FPN_CH, FPN_CH, 3, 3), generator=gc)
    fake["roi_heads.box_predictor.cls_score.weight"] = torch.randn((81, 16), generator=gc)
    det = OrderedDict()
    det["backbone.fpn_lateral2.weight"] = fake["backbone.fpn_lateral2.weight"]
    det["backbone.fpn_output2.weight"] = fake["backbone.fpn_output2.weight"]
    for k, t in sd.items():
        det[PREFIX + k] = t.clone()
    det["roi_heads.box_predictor.cls_score.weight"] = fake["roi_heads.box_predictor.cls_score.weight"]
    torch.save({"model": det, "trainer": {"iteration": ITERS - 1}, "iteration": ITERS - 1,
                "scheduler": {"last_epoch": ITERS}}, os.path.join(case_dir, "model_final.pth"))

    # --- model_final.pkl (protocol 2) / model_final_p4.pkl (protocol 4): detectron2 model-zoo pickles
    # (only in PKL_CASES: the same reader path either way, and the repository stays small)
    for fn, proto in (("model_final.pkl", 2), ("model_final_p4.pkl", 4)) if name in PKL_CASES else ():
        with open(os.path.join(case_dir, fn), "wb") as f:
            pickle.dump({"model": {k: v.numpy() for k, v in det.items()}, "__author__": "rest-tf fixture",
                         "matching_heuristics": True}, f, protocol=proto)

    # --- converted_from_classification.pth: convert_to_d2.py on {'model': cls_sd}
    converted = {}
    for k in list(cls_sd.keys()):
        converted[PREFIX + k] = cls_sd[k].clone()
    torch.save(converted, os.path.join(case_dir, "converted_from_classification.pth"))

    # --- reference outputs
    fresh, missing, unexpected = load_as_d2(cfg, converted)
    assert sorted(missing) == sorted(side_norm_keys(cfg)), missing
    assert sorted(unexpected) == sorted(cls_only if fam == "v2" else ["head.weight", "head.bias"]), unexpected
    fresh32 = d2.build_d2(cfg).float().eval()
    fresh32.load_state_dict(OrderedDict((k[len(PREFIX):], v) for k, v in converted.items()), strict=False)

    g_in = torch.Generator().manual_seed(INPUT_SEED)
    inputs_cfg = []
    for k, shape in enumerate(INPUT_SHAPES):
        x32 = torch.randn(shape, generator=g_in, dtype=torch.float32)
        np.save(os.path.join(case_dir, "input_%d.npy" % k), x32.numpy())
        files = OrderedDict([("input", "input_%d.npy" % k)])
        shapes, err, err_fresh = OrderedDict(), OrderedDict(), OrderedDict()
        for tag, m64, m32, errs in (("", ref, model, err), ("_fresh", fresh, fresh32, err_fresh)):
            o64 = run(m64, x32.double())
            o32 = run(m32, x32)
            assert list(o64) == list(d2.FEATURES)
            for s, t in o64.items():
                fn = "%s%s_%d.npy" % (s, tag, k)
                a = nhwc(t.float())
                np.save(os.path.join(case_dir, fn), a)
                files[s + tag] = fn
                shapes[s] = list(a.shape)
                errs[s] = float((o32[s].double() - t).abs().max())
        inputs_cfg.append(OrderedDict([("k", k), ("shape_nchw", list(shape)), ("files", files),
                                       ("output_shapes_nhwc", shapes),
                                       ("official_fp32_max_abs_error", err),
                                       ("official_fp32_max_abs_error_fresh", err_fresh)]))
        print("  %s input %d: fp32 vs fp64 %s; fresh %s" % (
            name, k, ", ".join("%s %.1e" % (n_, e) for n_, e in err.items()),
            ", ".join("%s %.1e" % (n_, e) for n_, e in err_fresh.items())))

    if fam == "v2":
        norms = OrderedDict([
            ("side_norms", "norm_{i} = nn.Sequential(LayerNorm(C_i, eps=1e-6, data_format='channels_first')) for each "
                           "out feature stage{i}, i = 1..4; keys norm_{i}.0.weight / norm_{i}.0.bias"),
            ("on_trunk", False),
            ("detail", "stage{i} output = norm_{i}(NCHW map after stage i's blocks); the next patch embedding sees the "
                       "UN-normed map; stage4 output = norm_4 (there is no final norm in the d2 backbone)"),
            ("side_norm_eps", 1e-6), ("trunk_layer_norm_eps", 1e-6), ("batch_norm_eps", 1e-5),
            ("final_norm", None)])
    else:
        norms = OrderedDict([
            ("side_norms", "norm{i} = nn.LayerNorm(C_i) (eps 1e-5) for out features stage1..stage3 only; keys "
                           "norm{i}.weight / norm{i}.bias; stage4 uses the final norm (norm.weight / norm.bias)"),
            ("on_trunk", True),
            ("detail", "after stage i's blocks (i = 1..3), if stage{i} is an out feature: tokens = norm{i}(tokens), then "
                       "to NCHW; that normed map is the output AND the input of the next patch embedding; stage 4: "
                       "tokens = norm(tokens) always, output = that map"),
            ("side_norm_eps", 1e-5), ("trunk_layer_norm_eps", 1e-5), ("batch_norm_eps", 1e-5),
            ("instance_norm", "attention transform (num_heads > 1): InstanceNorm2d(num_heads), affine False, eps 1e-5"),
            ("final_norm", "norm (nn.LayerNorm(C_4), eps 1e-5), used for stage4")])
    ignored_det = list(fake.keys())
    conf = OrderedDict([
        ("name", name), ("variant", variant), ("family", fam),
        ("official_code", "object_detection/restv2/%s" % ("restv2.py ResTV2" if fam == "v2" else "rest.py ResT")),
        ("official_config", yaml), ("width_divisor", WIDTH_DIVISOR),
        ("backbone", OrderedDict((k, v) for k, v in cfg.items() if k != "out_features")),
        ("out_features", cfg["out_features"]),
        ("out_feature_strides", d2.STRIDES),
        ("out_feature_channels", dict(zip(d2.FEATURES, cfg["embed_dims"]))),
        ("norms", norms),
        ("seed", seed), ("classification_head_seed", seed + 1000), ("input_seed", INPUT_SEED),
        ("prefix", PREFIX),
        ("backbone_keys", OrderedDict([("count", len(sd)), ("first", next(iter(sd))), ("last", list(sd)[-1]),
                                       ("side_norm_keys", side_norm_keys(cfg))])),
        ("files", OrderedDict([
            ("model_final.pth", OrderedDict([
                ("meaning", "detectron2 training checkpoint (Checkpointer.save layout), torch.save zip, float32"),
                ("top_level_keys", ["model", "trainer", "iteration", "scheduler"]),
                ("iteration", ITERS - 1),
                ("model_keys", len(det)),
                ("backbone_keys", len(sd)),
                ("non_backbone_keys_to_ignore", ignored_det),
                ("order", "backbone.fpn_lateral2.weight, backbone.fpn_output2.weight, backbone.bottom_up.* (state_dict "
                          "order), roi_heads.box_predictor.cls_score.weight"),
                ("outputs", "stageN_0.npy")])),
            ("model_final.pkl", OrderedDict([
                ("meaning", "detectron2 model-zoo pickle: {'model': {key: numpy array}, '__author__': 'rest-tf fixture', "
                            "'matching_heuristics': True}; same keys, order and values as model_final.pth's model "
                            "(num_batches_tracked: 0-d int64 arrays)"),
                ("protocol", 2),
                ("numpy_arrays_via", "numpy.core.multiarray._reconstruct + __setstate__ with the raw data as "
                                     "_codecs.encode(<str>, 'latin1')"),
                ("outputs", "stageN_0.npy")])),
            ("model_final_p4.pkl", OrderedDict([
                ("meaning", "the same dict, pickle protocol 4 (array data as raw bytes)"), ("protocol", 4),
                ("outputs", "stageN_0.npy")])),
            ("converted_from_classification.pth", OrderedDict([
                ("meaning", "what object_detection/convert_to_d2.py writes for a classification checkpoint "
                            "{'model': state_dict} of the same trunk: a plain dict {'backbone.bottom_up.' + key: "
                            "tensor} of ALL the classification model's keys, torch.save zip, float32"),
                ("keys", len(converted)),
                ("classification_num_classes", NUM_CLASSES_CLS),
                ("keys_the_d2_backbone_ignores", [PREFIX + k for k in sorted(unexpected)]),
                ("keys_missing_fresh_init", [PREFIX + k for k in side_norm_keys(cfg)]),
                ("fresh_init", "LayerNorm weight 1, bias 0"),
                ("trunk", "identical tensors to model_final.pth's backbone.bottom_up.* (classification head%s random)"
                          % (" and the unused final norm" if fam == "v2" else "")),
                ("outputs", "stageN_fresh_0.npy")])),
        ])),
        ("layouts", "input NCHW; outputs NHWC [B, H/stride, W/stride, C]; weights PyTorch layouts (Conv2d [out, "
                    "in/groups, kh, kw], Linear [out, in])"),
        ("protocol", "float32 weights as stored; reference run in float64 on those weights and the float32 input, "
                     "rounded to float32 at the end; official_fp32_max_abs_error = max |float32 run - float64 run| of "
                     "the same reference code (the float32 noise floor)"),
        ("inputs", inputs_cfg),
    ])
    if name not in PKL_CASES:
        del conf["files"]["model_final.pkl"], conf["files"]["model_final_p4.pkl"]
    with open(os.path.join(case_dir, "config.json"), "w") as f:
        json.dump(conf, f, indent=1)
        f.write("\n")


def verify_case(case_dir, tol=2e-7):
    """Reloads every file of a case as a reader would and recomputes the outputs in float64."""
    with open(os.path.join(case_dir, "config.json")) as f:
        conf = json.load(f)
    cfg = dict(conf["backbone"], out_features=conf["out_features"])
    fam = cfg["family"]
    want = [(PREFIX + k, s) for k, s in d2.expected_keys(cfg)]
    want_cls = [(PREFIX + k, s) for k, s in d2.expected_keys(cfg, True, NUM_CLASSES_CLS)]
    worst = 0.0

    def compare(model, tag):
        nonlocal worst
        for inp in conf["inputs"]:
            x = torch.from_numpy(np.load(os.path.join(case_dir, inp["files"]["input"]))).double()
            assert list(x.shape) == inp["shape_nchw"]
            for s, t in run(model, x).items():
                stored = np.load(os.path.join(case_dir, inp["files"][s + tag]))
                assert stored.dtype == np.float32 and list(stored.shape) == inp["output_shapes_nhwc"][s]
                e = float(np.abs(nhwc(t) - stored.astype(np.float64)).max() / max(1.0, np.abs(stored).max()))
                worst = max(worst, e)

    ck = torch.load(os.path.join(case_dir, "model_final.pth"), map_location="cpu")
    assert list(ck) == ["model", "trainer", "iteration", "scheduler"], list(ck)
    assert ck["iteration"] == ITERS - 1 and ck["trainer"] == {"iteration": ITERS - 1} and \
        ck["scheduler"] == {"last_epoch": ITERS}
    det = ck["model"]
    assert isinstance(det, OrderedDict)
    assert [(k, tuple(v.shape)) for k, v in det.items() if k.startswith(PREFIX)] == want
    others = [k for k in det if not k.startswith(PREFIX)]
    assert others == conf["files"]["model_final.pth"]["non_backbone_keys_to_ignore"], others
    model, missing, unexpected = load_as_d2(cfg, det)
    assert not missing and not unexpected
    compare(model, "")

    for fn, proto in (("model_final.pkl", 2), ("model_final_p4.pkl", 4)) if os.path.basename(case_dir) in PKL_CASES else ():
        head, globals_, ops = pickle_info(os.path.join(case_dir, fn))
        assert head == bytes([0x80, proto]), head
        assert "numpy.core.multiarray._reconstruct" in globals_ or proto == 4, globals_
        if proto == 2:
            assert "_codecs.encode" in globals_ and "BINBYTES" not in ops and "SHORT_BINBYTES" not in ops, (globals_, ops)
        else:
            assert "_codecs.encode" not in globals_ and ({"BINBYTES", "SHORT_BINBYTES", "BINBYTES8"} & ops), ops
        with open(os.path.join(case_dir, fn), "rb") as f:
            data = pickle.load(f, encoding="latin1")  # as detectron2's DetectionCheckpointer._load_file
        assert set(data) == {"model", "__author__", "matching_heuristics"} and data["matching_heuristics"] is True
        assert list(data["model"]) == list(det)
        for k, v in det.items():
            a = data["model"][k]
            assert isinstance(a, np.ndarray) and a.dtype == v.numpy().dtype and a.shape == tuple(v.shape), k
            assert np.array_equal(a, v.numpy()), k
        m2, missing, unexpected = load_as_d2(cfg, data["model"])
        assert not missing and not unexpected
        compare(m2, "")

    conv = torch.load(os.path.join(case_dir, "converted_from_classification.pth"), map_location="cpu")
    assert type(conv) is dict and [(k, tuple(v.shape)) for k, v in conv.items()] == want_cls
    trunk = [k for k in conv if k in det]
    assert all(torch.equal(conv[k], det[k]) for k in trunk)
    fresh, missing, unexpected = load_as_d2(cfg, conv)
    assert sorted(missing) == sorted(side_norm_keys(cfg))
    assert sorted(PREFIX + k for k in unexpected) == \
        conf["files"]["converted_from_classification.pth"]["keys_the_d2_backbone_ignores"]
    compare(fresh, "_fresh")
    print("  %s: %d backbone keys (+%d detector keys ignored), pkl p2/p4 equal to the .pth, converted file %d keys "
          "(%d trunk); outputs reproduced from disk to %.1e" % (os.path.basename(case_dir), len(want), len(others),
                                                                len(conv), len(trunk), worst))
    return worst <= tol


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--cases", default=",".join(c[0] for c in CASES))
    ap.add_argument("--verify", action="store_true", help="only re-check the cases already in --out")
    args = ap.parse_args()
    torch.set_num_threads(1)
    want = args.cases.split(",")
    ok = True
    for name, variant, seed, yaml in CASES:
        if name in want:
            if not args.verify:
                make_case(args.out, name, variant, seed, yaml)
            ok &= verify_case(os.path.join(args.out, name))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
