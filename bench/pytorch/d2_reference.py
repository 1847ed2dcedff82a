"""The official detectron2 BACKBONES of ResT (v1) and ResTv2 in plain PyTorch, op for op as the official code computes them.

This is the float64 REFERENCE that rest-tf's detectron2-checkpoint support is compared against (fixtures made by
make_d2_fixtures.py). `ResTV2D2Backbone` is `ResTV2(Backbone)` of object_detection/restv2/restv2.py,
`ResTD2Backbone` is `ResT(Backbone)` of object_detection/restv2/rest.py (github.com/wofmanaf/ResT), i.e. the
`bottom_up` of the official `build_restv2_fpn_backbone` / `build_rest_fpn_backbone` (and the RetinaNet
variants). detectron2's `Backbone` base is replaced by nn.Module (it adds no parameters), timm's helpers by
rest_official's local ones; `_freeze_stages` / `init_weights` / pretrained loading (training-time only) are
dropped. Only torch is needed (Debian's python3-torch 1.13). The state_dict keys are exactly the official
modules' names, WITHOUT the `backbone.bottom_up.` prefix that the detector adds (make_d2_fixtures adds it).

Sources read (wofmanaf/ResT, the bare mirror's HEAD, read with git show):
  object_detection/restv2/restv2.py   ResTV2 d2 backbone, build_restv2_backbone (+ _fpn / retinanet builders)
  object_detection/restv2/rest.py     ResT v1 d2 backbone, build_rest_backbone (+ _fpn / retinanet builders)
  object_detection/utils.py           LayerNorm (channels_first branch used by ResTV2's norm_i)
  object_detection/restv2/config.py   MODEL.RESTV2 / MODEL.REST: OUT_FEATURES default stage1..stage4
  object_detection/convert_to_d2.py   classification checkpoint ['model'] -> {'backbone.bottom_up.' + key: tensor}
  object_detection/configs/ResTv1|ResTv2/*.yaml   OUT_FEATURES stage1..stage4 (Mask R-CNN; RetinaNet v1:
                                      stage2..stage4, the code below supports any subset)

What the official d2 code does, detail by detail (rest-tf must copy every one of these):

ResTv2 (restv2.py `ResTV2`):
  * Trunk = the classification model's (models/rest_v2.py): ConvStem, patch_2..4, stage1..4 Blocks, with
    the same module names; every nn.LayerNorm eps 1e-6; Mlp ratio fixed 4; q/kv with bias. Checked line by
    line against rest_official's ConvStemV2 / PatchEmbedV2 / BlockV2 (same layers, registration order, eps,
    forward), which are reused here. NO final `norm`, NO `head` (those classification keys do not exist).
  * One side-output norm per out feature, registered after stage4 in OUT_FEATURES order:
    `norm_{i}` = nn.Sequential(utils.LayerNorm(C_i, eps=1e-6, data_format="channels_first")), keys
    `norm_{i}.0.weight` / `norm_{i}.0.bias` (shape [C_i]). channels_first: u = mean_c(x),
    s = mean_c((x-u)^2) (biased), (x-u)/sqrt(s+eps), weight[:,None,None]*x + bias[:,None,None].
  * forward: stem -> stage1 blocks -> tokens to NCHW (B, C, H, W) -> outs['stage1'] = norm_1(x); patch_2 is
    applied to the UN-normed x (norm_i is only on the side output) ... same for stages 2-4;
    outs['stage4'] = norm_4(x of stage 4). So stage4's output is norm_4 (NOT a final `norm`).
  * This equals the mmseg backbone (seg_reference.ResTV2Backbone) exactly; only the key names differ
    (`norm_{i}.0.*` here, `norm_{i}.*` in mmseg). The self-test checks it.
  * Official settings (build_restv2_backbone): num_heads / sr_ratios are the constructor defaults
    [1,2,4,8] / [8,4,2,1] for every name (the `settings` table only gives depths, embed_dims, drop_path).
  * utils.LayerNorm is not an nn.LayerNorm, so init_weights leaves it at its own init: weight 1, bias 0
    (what a checkpoint without norm_{i} keys -- a converted classification checkpoint -- ends up with).

ResT v1 (rest.py `ResT`):
  * Trunk = the classification model's (models/rest.py), same names: BasicStem (`stem`), patch_embed_2..4,
    stage1..4; build_rest_backbone passes qkv_bias=True, apply_transform=True, mlp_ratios [4,4,4,4],
    num_heads [1,2,4,8], sr_ratios [8,4,2,1] (defaults), norm_layer nn.LayerNorm -> eps 1e-5 (the default)
    for Block norm1/norm2, sr_norm (nn.LayerNorm(dim): default eps), the side norms and the final norm;
    BatchNorm eps 1e-5; InstanceNorm2d(num_heads) (affine False, eps 1e-5) in the attention transform
    (only when num_heads > 1). Same as rest_official's BasicStemV1 / PatchEmbedV1 / BlockV1 (reused).
  * Side norms `norm1`, `norm2`, `norm3` (NO underscore; nn.LayerNorm(C_i), eps 1e-5; keys `norm{i}.weight|bias`)
    exist only for stage1..3 that are in OUT_FEATURES; `norm` (nn.LayerNorm(C_4), eps 1e-5) always exists
    and is registered after them. Registration order: stem, patch_embed_2..4, stage1..4, norm1..3, norm.
  * forward: the side norm is ON THE TRUNK: after stage i's blocks (i = 1..3), if 'stage{i}' is an out
    feature, x = norm{i}(x) on the tokens, then x -> NCHW, outputs['stage{i}'] = x, and the NEXT patch
    embedding sees the normed x. Stage 4: x = norm(x) always (the classification model's final norm),
    outputs['stage4'] = x (if an out feature). So a v1 detector's features differ from the classification
    trunk from stage 2 on (unlike v2).
  * Tokens <-> maps: x.permute(0, 2, 1).reshape(B, -1, H, W) (row-major tokens), as in the classification code.

convert_to_d2.py writes {'backbone.bottom_up.' + k: v} for EVERY key of a classification checkpoint's
['model'] (head.*, and for v2 the unused final norm.*, included). Loading that into a d2 detector: keys
the backbone does not have (v2: norm.*, head.*; v1: head.*) are ignored by detectron2's checkpointer
(reported as unexpected), the side norms are missing and keep their fresh init (weight 1, bias 0);
for v1 `norm.*` IS used (stage 4's output norm).

    /usr/bin/python3 bench/pytorch/d2_reference.py --self-test
"""
import argparse
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rest_official as ro  # noqa: E402
import seg_reference as sr  # noqa: E402

__all__ = ["LayerNorm", "ResTV2D2Backbone", "ResTD2Backbone", "D2_VARIANTS", "build_d2", "expected_keys",
           "FEATURES", "STRIDES"]

FEATURES = ("stage1", "stage2", "stage3", "stage4")
STRIDES = {"stage1": 4, "stage2": 8, "stage3": 16, "stage4": 32}

# object_detection/utils.py LayerNorm == semantic_segmentation/backbone/rest_v2.py LayerNorm (same text)
LayerNorm = sr.LayerNorm


def _cfg_get(cfg, key, default):
    return cfg[key] if key in cfg else default


# ----------------------------------------------------------------------------------------------
# object_detection/restv2/restv2.py: ResTV2(Backbone)
# ----------------------------------------------------------------------------------------------
class ResTV2D2Backbone(nn.Module):
    """build_restv2_backbone's model. cfg: dict with embed_dims, depths and optionally num_heads, sr_ratios,
    drop_path_rate, in_chans, out_features (default stage1..stage4)."""

    def __init__(self, cfg):
        super().__init__()
        embed_dims = list(cfg["embed_dims"])
        depths = list(cfg["depths"])
        num_heads = list(_cfg_get(cfg, "num_heads", [1, 2, 4, 8]))
        sr_ratios = list(_cfg_get(cfg, "sr_ratios", [8, 4, 2, 1]))
        drop_path_rate = _cfg_get(cfg, "drop_path_rate", 0.0)
        in_chans = _cfg_get(cfg, "in_chans", 3)
        out_features = list(_cfg_get(cfg, "out_features", FEATURES))
        eps = _cfg_get(cfg, "layer_norm_eps", 1e-6)
        if eps != 1e-6:
            raise ValueError("ResTv2 uses LayerNorm eps 1e-6, config says %r" % eps)
        if any(r != 4 for r in _cfg_get(cfg, "mlp_ratios", [4, 4, 4, 4])):
            raise ValueError("ResTv2's Mlp is fixed at ratio 4")
        self.depths = depths
        self._out_features = out_features
        self._out_feature_channels = dict(zip(FEATURES, embed_dims))
        self._out_feature_strides = dict(STRIDES)

        self.stem = ro.ConvStemV2(in_chans, embed_dims[0], patch_size=4)
        self.patch_2 = ro.PatchEmbedV2(embed_dims[0], embed_dims[1], patch_size=2)
        self.patch_3 = ro.PatchEmbedV2(embed_dims[1], embed_dims[2], patch_size=2)
        self.patch_4 = ro.PatchEmbedV2(embed_dims[2], embed_dims[3], patch_size=2)

        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, sum(depths))]
        cur = 0
        for s in range(4):
            setattr(self, "stage%d" % (s + 1), nn.ModuleList([
                ro.BlockV2(embed_dims[s], num_heads[s], sr_ratios[s], dpr[cur + i]) for i in range(depths[s])]))
            cur += depths[s]

        # add a norm layer for each output (in out_features order, as the official loop)
        for i_layer in out_features:
            idx = int(i_layer[-1])
            layer = nn.Sequential(LayerNorm(embed_dims[idx - 1], eps=1e-6, data_format="channels_first"))
            self.add_module("norm_%d" % idx, layer)

    def forward(self, x):
        outs = {}
        B = x.shape[0]
        x, (H, W) = self.stem(x)
        embeds = [None, self.patch_2, self.patch_3, self.patch_4]
        for s in range(4):
            if s > 0:
                x, (H, W) = embeds[s](x)  # the un-normed NCHW trunk
            for blk in getattr(self, "stage%d" % (s + 1)):
                x = blk(x, H, W)
            x = x.permute(0, 2, 1).reshape(B, -1, H, W)
            name = "stage%d" % (s + 1)
            if name in self._out_features:
                outs[name] = getattr(self, "norm_%d" % (s + 1))(x)
        return outs

    @property
    def size_divisibility(self):
        return 32


# ----------------------------------------------------------------------------------------------
# object_detection/restv2/rest.py: ResT(Backbone)
# ----------------------------------------------------------------------------------------------
class ResTD2Backbone(nn.Module):
    """build_rest_backbone's model. cfg: dict with embed_dims, depths and optionally num_heads, mlp_ratios,
    sr_ratios, qkv_bias (True), apply_transform (True), drop_path_rate, in_chans, out_features, layer_norm_eps
    (1e-5: nn.LayerNorm's default, the official value)."""

    def __init__(self, cfg):
        super().__init__()
        embed_dims = list(cfg["embed_dims"])
        depths = list(cfg["depths"])
        num_heads = list(_cfg_get(cfg, "num_heads", [1, 2, 4, 8]))
        mlp_ratios = list(_cfg_get(cfg, "mlp_ratios", [4, 4, 4, 4]))
        sr_ratios = list(_cfg_get(cfg, "sr_ratios", [8, 4, 2, 1]))
        qkv_bias = _cfg_get(cfg, "qkv_bias", True)
        apply_transform = _cfg_get(cfg, "apply_transform", True)
        drop_path_rate = _cfg_get(cfg, "drop_path_rate", 0.0)
        in_ch = _cfg_get(cfg, "in_chans", 3)
        out_features = list(_cfg_get(cfg, "out_features", FEATURES))
        eps = _cfg_get(cfg, "layer_norm_eps", 1e-5)
        norm_layer = nn.LayerNorm if eps == 1e-5 else (lambda d: nn.LayerNorm(d, eps=eps))
        self.depths = depths
        self.num_layers = len(depths)
        self.apply_transform = apply_transform
        self._out_features = out_features
        self._out_feature_channels = dict(zip(FEATURES, embed_dims))
        self._out_feature_strides = dict(STRIDES)

        self.stem = ro.BasicStemV1(in_ch=in_ch, out_ch=embed_dims[0], with_pos=True)
        self.patch_embed_2 = ro.PatchEmbedV1(2, embed_dims[0], embed_dims[1], with_pos=True)
        self.patch_embed_3 = ro.PatchEmbedV1(2, embed_dims[1], embed_dims[2], with_pos=True)
        self.patch_embed_4 = ro.PatchEmbedV1(2, embed_dims[2], embed_dims[3], with_pos=True)

        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, sum(depths))]
        cur = 0
        for s in range(4):
            setattr(self, "stage%d" % (s + 1), nn.ModuleList([
                ro.BlockV1(embed_dims[s], num_heads[s], mlp_ratios[s], qkv_bias, None, 0.0, 0.0,
                           drop_path=dpr[cur + i], norm_layer=norm_layer, sr_ratio=sr_ratios[s],
                           apply_transform=apply_transform)
                for i in range(depths[s])]))
            cur += depths[s]

        # add a norm layer for each output (stages 1..3 only; stage 4 uses the final norm)
        for i in range(self.num_layers - 1):
            if "stage%d" % (i + 1) in self._out_features:
                self.add_module("norm%d" % (i + 1), norm_layer(embed_dims[i]))
        self.norm = norm_layer(embed_dims[3])

    def forward(self, x):
        outputs = {}
        x = self.stem(x)
        B, _, H, W = x.shape
        x = x.flatten(2).permute(0, 2, 1)
        embeds = [None, self.patch_embed_2, self.patch_embed_3, self.patch_embed_4]
        for s in range(4):
            name = "stage%d" % (s + 1)
            if s > 0:
                x, (H, W) = embeds[s](x)
            for blk in getattr(self, name):
                x = blk(x, H, W)
            if s < 3:
                if name in self._out_features:
                    x = getattr(self, "norm%d" % (s + 1))(x)  # ON the trunk: the next patch embed sees it
                    x = x.permute(0, 2, 1).reshape(B, -1, H, W)
                    outputs[name] = x
                else:
                    x = x.permute(0, 2, 1).reshape(B, -1, H, W)
            else:
                x = self.norm(x)  # always
                x = x.permute(0, 2, 1).reshape(B, -1, H, W)
                if name in self._out_features:
                    outputs[name] = x
        return outputs

    @property
    def size_divisibility(self):
        return 32


# ----------------------------------------------------------------------------------------------
# variants: build_restv2_backbone's / build_rest_backbone's settings tables
# ----------------------------------------------------------------------------------------------
D2_VARIANTS = {
    "restv2_tiny": dict(family="v2", embed_dims=[96, 192, 384, 768], num_heads=[1, 2, 4, 8], depths=[1, 2, 6, 2],
                        sr_ratios=[8, 4, 2, 1], drop_path_rate=0.1),
    "restv2_small": dict(family="v2", embed_dims=[96, 192, 384, 768], num_heads=[1, 2, 4, 8], depths=[1, 2, 12, 2],
                         sr_ratios=[8, 4, 2, 1], drop_path_rate=0.2),
    "restv2_base": dict(family="v2", embed_dims=[96, 192, 384, 768], num_heads=[1, 2, 4, 8], depths=[1, 3, 16, 3],
                        sr_ratios=[8, 4, 2, 1], drop_path_rate=0.3),
    # the d2 table says restv2_large: depths [2,3,16,3], dims 128.., heads = the default [1,2,4,8]
    # (the classification restv2_large has depths [2,3,16,2], heads [2,4,8,16]); kept as the d2 code says
    "restv2_large": dict(family="v2", embed_dims=[128, 256, 512, 1024], num_heads=[1, 2, 4, 8],
                         depths=[2, 3, 16, 3], sr_ratios=[8, 4, 2, 1], drop_path_rate=0.5),
    "rest_lite": dict(family="v1", embed_dims=[64, 128, 256, 512], depths=[2, 2, 2, 2], drop_path_rate=0.1),
    "rest_small": dict(family="v1", embed_dims=[64, 128, 256, 512], depths=[2, 2, 6, 2], drop_path_rate=0.1),
    "rest_base": dict(family="v1", embed_dims=[96, 192, 384, 768], depths=[2, 2, 6, 2], drop_path_rate=0.2),
    "rest_large": dict(family="v1", embed_dims=[96, 192, 384, 768], depths=[2, 2, 18, 2], drop_path_rate=0.2),
}
for _v in D2_VARIANTS.values():
    if _v["family"] == "v1":
        _v.update(num_heads=[1, 2, 4, 8], mlp_ratios=[4, 4, 4, 4], sr_ratios=[8, 4, 2, 1], qkv_bias=True,
                  apply_transform=True)


def build_d2(cfg):
    fam = cfg["family"]
    if fam == "v2":
        return ResTV2D2Backbone(cfg)
    if fam == "v1":
        return ResTD2Backbone(cfg)
    raise ValueError("unknown family %r" % fam)


# ----------------------------------------------------------------------------------------------
# hand-written key lists
# ----------------------------------------------------------------------------------------------
_BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def expected_keys(cfg, classification=False, num_classes=1000):
    """[(key, shape)] in state_dict order, written out from the official sources by hand (independently of the
    modules above). classification=True: the classification model's keys (what convert_to_d2 sees)."""
    d, depths, fam = cfg["embed_dims"], cfg["depths"], cfg["family"]
    heads = cfg.get("num_heads", [1, 2, 4, 8])
    srs = cfg.get("sr_ratios", [8, 4, 2, 1])
    outf = list(cfg.get("out_features", FEATURES))
    keys = []

    def add(k, *shape):
        keys.append((k, tuple(shape)))

    def bn(p, c):
        for n in _BN:
            add(p + "." + n, *(() if n == "num_batches_tracked" else (c,)))

    if fam == "v2":
        h = d[0] // 2
        add("stem.proj.0.weight", h, 3, 3, 3)
        bn("stem.proj.1", h)
        add("stem.proj.3.weight", 2 * h, h, 3, 3)
        bn("stem.proj.4", 2 * h)
        add("stem.proj.6.weight", d[0], 2 * h, 1, 1)
        add("stem.proj.6.bias", d[0])
        add("stem.pos.pa_conv.weight", d[0], 1, 3, 3)
        add("stem.pos.pa_conv.bias", d[0])
        add("stem.norm.weight", d[0])
        add("stem.norm.bias", d[0])
        for s in (1, 2, 3):
            p = "patch_%d" % (s + 1)
            add(p + ".proj.weight", d[s], d[s - 1], 3, 3)
            add(p + ".proj.bias", d[s])
            add(p + ".pos.pa_conv.weight", d[s], 1, 3, 3)
            add(p + ".pos.pa_conv.bias", d[s])
            add(p + ".norm.weight", d[s])
            add(p + ".norm.bias", d[s])
        for s in range(4):
            c, r = d[s], srs[s]
            for i in range(depths[s]):
                p = "stage%d.%d." % (s + 1, i)
                add(p + "norm1.weight", c)
                add(p + "norm1.bias", c)
                add(p + "attn.q.weight", c, c)
                add(p + "attn.q.bias", c)
                add(p + "attn.kv.weight", 2 * c, c)
                add(p + "attn.kv.bias", 2 * c)
                if r > 1:
                    add(p + "attn.sr.weight", c, 1, r + 1, r + 1)
                    add(p + "attn.sr.bias", c)
                    add(p + "attn.sr_norm.weight", c)
                    add(p + "attn.sr_norm.bias", c)
                add(p + "attn.up.0.weight", r * r * c, 1, 3, 3)
                add(p + "attn.up.0.bias", r * r * c)
                add(p + "attn.up_norm.weight", c)
                add(p + "attn.up_norm.bias", c)
                add(p + "attn.proj.weight", c, c)
                add(p + "attn.proj.bias", c)
                add(p + "norm2.weight", c)
                add(p + "norm2.bias", c)
                add(p + "mlp.fc1.weight", 4 * c, c)
                add(p + "mlp.fc1.bias", 4 * c)
                add(p + "mlp.fc2.weight", c, 4 * c)
                add(p + "mlp.fc2.bias", c)
        if classification:
            add("norm.weight", d[3])
            add("norm.bias", d[3])
            add("head.weight", num_classes, d[3])
            add("head.bias", num_classes)
        else:
            for f in outf:
                i = int(f[-1])
                add("norm_%d.0.weight" % i, d[i - 1])
                add("norm_%d.0.bias" % i, d[i - 1])
        return keys

    # v1
    h = d[0] // 2
    add("stem.conv1.weight", h, 3, 3, 3)
    bn("stem.norm1", h)
    add("stem.conv2.weight", h, h, 3, 3)
    bn("stem.norm2", h)
    add("stem.conv3.weight", d[0], h, 3, 3)
    add("stem.pos.pa_conv.weight", d[0], 1, 3, 3)
    add("stem.pos.pa_conv.bias", d[0])
    for s in (1, 2, 3):
        p = "patch_embed_%d" % (s + 1)
        add(p + ".conv.weight", d[s], d[s - 1], 3, 3)
        add(p + ".conv.bias", d[s])
        bn(p + ".norm", d[s])
        add(p + ".pos.pa_conv.weight", d[s], 1, 3, 3)
        add(p + ".pos.pa_conv.bias", d[s])
    mlp = cfg.get("mlp_ratios", [4, 4, 4, 4])
    for s in range(4):
        c, r, nh = d[s], srs[s], heads[s]
        hid = int(c * mlp[s])
        for i in range(depths[s]):
            p = "stage%d.%d." % (s + 1, i)
            add(p + "norm1.weight", c)
            add(p + "norm1.bias", c)
            add(p + "attn.q.weight", c, c)
            add(p + "attn.q.bias", c)  # qkv_bias=True
            add(p + "attn.kv.weight", 2 * c, c)
            add(p + "attn.kv.bias", 2 * c)
            add(p + "attn.proj.weight", c, c)
            add(p + "attn.proj.bias", c)
            if r > 1:
                add(p + "attn.sr.weight", c, 1, r + 1, r + 1)
                add(p + "attn.sr.bias", c)
                add(p + "attn.sr_norm.weight", c)
                add(p + "attn.sr_norm.bias", c)
            if nh > 1:  # apply_transform and num_heads > 1
                add(p + "attn.transform_conv.weight", nh, nh, 1, 1)
                add(p + "attn.transform_conv.bias", nh)
            add(p + "norm2.weight", c)
            add(p + "norm2.bias", c)
            add(p + "mlp.fc1.weight", hid, c)
            add(p + "mlp.fc1.bias", hid)
            add(p + "mlp.fc2.weight", c, hid)
            add(p + "mlp.fc2.bias", c)
    if not classification:
        for i in (1, 2, 3):
            if "stage%d" % i in outf:
                add("norm%d.weight" % i, d[i - 1])
                add("norm%d.bias" % i, d[i - 1])
    add("norm.weight", d[3])
    add("norm.bias", d[3])
    if classification:
        add("head.weight", num_classes, d[3])
        add("head.bias", num_classes)
    return keys


def classification_model(cfg, num_classes=1000):
    """rest_official's classification model of the same structure (its keys are what convert_to_d2 reads)."""
    c = {k: v for k, v in cfg.items() if k not in ("out_features", "drop_path_rate")}
    return ro.build_from_config(c, num_classes=num_classes)


# ----------------------------------------------------------------------------------------------
# self-test
# ----------------------------------------------------------------------------------------------
def self_test():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    problems = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            problems.append(what)

    def cmp_keys(got, want, what):
        same = got == want
        if not same:
            gk, wk = dict(got), dict(want)
            print("  missing", [k for k in wk if k not in gk][:5], "extra", [k for k in gk if k not in wk][:5],
                  "shape", [k for k in gk if k in wk and gk[k] != wk[k]][:5],
                  "order" if set(gk) == set(wk) else "")
        check(same, what)

    # 1. keys, order, shapes vs the hand-written lists (full size and /8), d2 and classification
    for name, v in D2_VARIANTS.items():
        for div in (1, 8):
            cfg = dict(v, embed_dims=[c // div for c in v["embed_dims"]])
            m = build_d2(cfg)
            got = [(k, tuple(t.shape)) for k, t in m.state_dict().items()]
            cmp_keys(got, expected_keys(cfg), "%s /%d d2 backbone: %d keys (first %s, last %s), order and shapes "
                     "as the hand-written list" % (name, div, len(got), got[0][0], got[-1][0]))
            if name in ("restv2_large",):
                continue  # no classification model with these d2 settings
            cm = classification_model(cfg, 1000)
            got = [(k, tuple(t.shape)) for k, t in cm.state_dict().items()]
            cmp_keys(got, expected_keys(cfg, classification=True),
                     "%s /%d classification (what convert_to_d2 reads): %d keys" % (name, div, len(got)))
            # trunk keys common to both, same shapes
            dk = dict((k, tuple(t.shape)) for k, t in m.state_dict().items())
            ck = dict(got)
            trunk = [k for k in dk if k in ck]
            only_d2 = sorted(k for k in dk if k not in ck)
            only_cls = sorted(k for k in ck if k not in dk)
            want_d2 = (["norm_%d.0.%s" % (i, n) for i in range(1, 5) for n in ("bias", "weight")]
                       if v["family"] == "v2" else ["norm%d.%s" % (i, n) for i in range(1, 4) for n in ("bias", "weight")])
            want_cls = (["head.bias", "head.weight", "norm.bias", "norm.weight"] if v["family"] == "v2"
                        else ["head.bias", "head.weight"])
            check(only_d2 == sorted(want_d2) and only_cls == want_cls and all(dk[k] == ck[k] for k in trunk),
                  "%s /%d: d2-only keys %s..., classification-only %s" % (name, div, only_d2[:2], only_cls))

    # RetinaNet configs: out features stage2..stage4
    for name in ("rest_small", "restv2_tiny"):
        cfg = dict(D2_VARIANTS[name], out_features=["stage2", "stage3", "stage4"])
        m = build_d2(cfg)
        got = [(k, tuple(t.shape)) for k, t in m.state_dict().items()]
        cmp_keys(got, expected_keys(cfg), "%s with OUT_FEATURES stage2..4 (RetinaNet): %d keys, no %s" % (
            name, len(got), "norm1" if name.startswith("rest_") else "norm_1"))

    # 2. eps and layer flavours
    m2 = build_d2(dict(D2_VARIANTS["restv2_tiny"], embed_dims=[12, 24, 48, 96]))
    lns = [mod for mod in m2.modules() if isinstance(mod, (nn.LayerNorm, LayerNorm))]
    check(all(l.eps == 1e-6 for l in lns), "v2: all %d LayerNorms eps 1e-6" % len(lns))
    check(all(isinstance(getattr(m2, "norm_%d" % i), nn.Sequential) and
              getattr(m2, "norm_%d" % i)[0].data_format == "channels_first" for i in range(1, 5)),
          "v2: norm_i = Sequential(channels_first LayerNorm)")
    m1 = build_d2(dict(D2_VARIANTS["rest_small"], embed_dims=[8, 16, 32, 64]))
    lns = [mod for mod in m1.modules() if isinstance(mod, nn.LayerNorm)]
    check(all(l.eps == 1e-5 for l in lns), "v1: all %d LayerNorms eps 1e-5 (nn.LayerNorm default)" % len(lns))
    ins = [mod for mod in m1.modules() if isinstance(mod, nn.InstanceNorm2d)]
    check(len(ins) == 2 + 6 + 2 and all(not i.affine and i.eps == 1e-5 for i in ins),
          "v1: %d InstanceNorm2d (stages 2-4 only), affine False, eps 1e-5" % len(ins))
    bns = [mod for mod in list(m1.modules()) + list(m2.modules()) if isinstance(mod, nn.BatchNorm2d)]
    check(all(b.eps == 1e-5 for b in bns), "all %d BatchNorms eps 1e-5" % len(bns))

    # 3. shapes on the fixture input size and a batch of 2
    for m, dims in ((m2, [12, 24, 48, 96]), (m1, [8, 16, 32, 64])):
        m.eval()
        for shape in [(1, 3, 128, 160), (2, 3, 224, 160)]:
            with torch.no_grad():
                outs = m(torch.randn(*shape))
            B, _, H, W = shape
            check(list(outs) == list(FEATURES) and [tuple(o.shape) for o in outs.values()] ==
                  [(B, c, H // r, W // r) for c, r in zip(dims, (4, 8, 16, 32))],
                  "%s on %s: %s" % (type(m).__name__, shape, [tuple(o.shape) for o in outs.values()]))

    # 4. v2 d2 == mmseg backbone for the same weights (only norm_i.0.* vs norm_i.* differ)
    m2 = m2.double().eval()
    with torch.no_grad():
        for p in m2.parameters():
            p.add_(0.1 * torch.randn_like(p))
        for b in m2.buffers():
            if b.dtype == torch.float64:
                b.add_(0.1 * torch.rand_like(b))
    seg = sr.ResTV2Backbone(embed_dims=[12, 24, 48, 96], num_heads=[1, 2, 4, 8], depths=[1, 2, 6, 2],
                            sr_ratios=[8, 4, 2, 1]).double().eval()
    sd = {k.replace(".0.", ".") if k.startswith("norm_") else k: t for k, t in m2.state_dict().items()}
    seg.load_state_dict(sd, strict=True)
    x = torch.randn(2, 3, 128, 160, dtype=torch.float64)
    with torch.no_grad():
        a = m2(x)
        b = seg(x)
    check(all(torch.equal(a["stage%d" % (i + 1)], b[i]) for i in range(4)),
          "v2 d2 backbone == seg_reference mmseg backbone, bit for bit (norm_i.0.* -> norm_i.*)")

    # 5. v2 d2 trunk == classification trunk (stage outputs before the side norms); v1 differs from stage 2
    cm = classification_model(dict(D2_VARIANTS["restv2_tiny"], embed_dims=[12, 24, 48, 96]), 10).double().eval()
    cm.load_state_dict(m2.state_dict(), strict=False)
    with torch.no_grad():
        _, stages = cm(x, return_stages=True)
    ok = True
    for i in range(4):
        ln = getattr(m2, "norm_%d" % (i + 1))[0]
        ref = F.layer_norm(stages[i], (stages[i].shape[-1],), ln.weight, ln.bias, 1e-6).permute(0, 3, 1, 2)
        ok &= bool(torch.allclose(ref, a["stage%d" % (i + 1)], atol=1e-12))
    check(ok, "v2: stage_i == layer_norm(classification stage_i tokens, norm_i)")
    m1 = m1.double().eval()
    with torch.no_grad():
        for p in m1.parameters():
            p.add_(0.1 * torch.randn_like(p))
    cm1 = classification_model(dict(D2_VARIANTS["rest_small"], embed_dims=[8, 16, 32, 64]), 10).double().eval()
    cm1.load_state_dict(m1.state_dict(), strict=False)
    with torch.no_grad():
        o1 = m1(x)
        _, st1 = cm1(x, return_stages=True)
    s1 = F.layer_norm(st1[0], (8,), m1.norm1.weight, m1.norm1.bias, 1e-5).permute(0, 3, 1, 2)
    check(torch.allclose(s1, o1["stage1"], atol=1e-12), "v1: stage1 == norm1(classification stage1 tokens)")
    s2 = F.layer_norm(st1[1], (16,), m1.norm2.weight, m1.norm2.bias, 1e-5).permute(0, 3, 1, 2)
    check(not torch.allclose(s2, o1["stage2"], atol=1e-3),
          "v1: stage2 != norm2(classification stage2) (norm1 is on the trunk): max diff %.2e"
          % float((s2 - o1["stage2"]).abs().max()))
    # v1 with norm1 = identity-ish removed from out features: trunk not normed
    cfg = dict(D2_VARIANTS["rest_small"], embed_dims=[8, 16, 32, 64], out_features=["stage2", "stage3", "stage4"])
    m1b = build_d2(cfg).double().eval()
    m1b.load_state_dict(m1.state_dict(), strict=False)
    with torch.no_grad():
        o1b = m1b(x)
    s2b = F.layer_norm(st1[1], (16,), m1.norm2.weight, m1.norm2.bias, 1e-5).permute(0, 3, 1, 2)
    check("stage1" not in o1b and torch.allclose(s2b, o1b["stage2"], atol=1e-12),
          "v1 without stage1 out feature: stage2 == norm2(classification stage2) (un-normed trunk)")

    print("\n%d problem(s)" % len(problems))
    return 1 if problems else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--self-test", action="store_true", help="check keys / shapes / equivalences")
    args = ap.parse_args()
    if args.self_test:
        sys.exit(self_test())
    ap.print_help()


if __name__ == "__main__":
    main()
