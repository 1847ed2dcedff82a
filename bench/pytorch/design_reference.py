"""The papers' design space in PyTorch: the float64 reference for every rest-tf config option.

    /usr/bin/python3 bench/pytorch/design_reference.py --self-test

Built from the official modules (rest_official.py = github.com/wofmanaf/ResT models/rest.py and
models/rest_v2.py op for op); each option swaps in what its source defines. Where that source is the
official code, the code is the definition; elsewhere the papers' text is, and where the text leaves a
choice open, the choice is written down here (and in the README's "Design space" section):

  reduction            dwconv     official: Conv2d(C, C, sr+1, stride sr, padding sr//2, groups=C) + LayerNorm
  (ResT §3.1, EMSA)    avg, max   nn.AvgPool2d / nn.MaxPool2d with the same kernel, stride and padding (PyTorch
                                  defaults: the average counts the zero padding; max never picks it) + LayerNorm
  position_encoding    pa         official PA: x * sigmoid(dwconv3x3(x))            (key pos.pa_conv)
  (ResT §3.3)          gl         official GL class of models/rest.py: x + dwconv3x3(x)   (key pos.gl_conv)
                       none       official with_pos=False
  apply_transform      official ResT multi-head interaction (1x1 conv over heads -> softmax -> InstanceNorm),
                       in stages with > 1 head; in ResTv2 placed exactly as in ResT (on q.kT), keys
                       attn.transform_conv (ResTv2 §3: "the multi-head interaction module")
  upsample (ResTv2 §3) pixel-shuffle  official: dwconv3x3 C -> sr^2 C, PixelShuffle(sr), LayerNorm   (keys up.0, up_norm)
                       nearest        dwconv3x3 C -> C, nn.Upsample(sr, 'nearest'), LayerNorm       (same keys)
                       bilinear       dwconv3x3 C -> C, nn.Upsample(sr, 'bilinear', align_corners=False), LayerNorm
                       none           no upsample branch (EMSA alone)
  upsample_target      v (official), k (the keys, channels (head, head_dim) as v), x (the reduced tokens after
                       sr_norm, the normed block input when sr = 1)
  attention=false      the "ConvNet" variant: the downsample-upsample branch alone: x -> reduction -> [v: Linear
                       (key attn.v) | x] -> upsample -> proj; no q, no kv, no attention
  window_style         (ResTv2 §4.4) global: as official. win: every block's attention (the whole EMSAv2: q, the
                       reduction, kv, attention, upsample branch, proj) runs on windows of window_sizes[stage]
                       tokens: the normed tokens are zero-padded at the bottom / right to window multiples (Swin's
                       padding), cut into windows, attended window by window as a batch, put back and cropped; an
                       axis shorter than the window is one window, unpadded. cwin: win + x + dwconv3x3(x) after the
                       last block of each stage (keys cwin1..cwin4; zero-initialised when added to a trained model,
                       as ViTDet starts its propagation blocks). hwin: windows in every block but the last of each
                       stage, which attends globally.
"""
import argparse
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rest_official as ro  # noqa: E402

DEFAULTS = dict(reduction="dwconv", position_encoding="pa", apply_transform=None, upsample=None, upsample_target="v",
                attention=True, window_style="global", window_sizes=[64, 32, 16, 8])


def options(cfg):
    """The config's options with the official defaults filled in."""
    o = dict(DEFAULTS)
    o.update({k: cfg[k] for k in DEFAULTS if k in cfg})
    if o["upsample"] is None:
        o["upsample"] = "pixel-shuffle" if cfg["family"] == "v2" else "none"
    if o["apply_transform"] is None:
        o["apply_transform"] = cfg.get("apply_transform", cfg["family"] == "v1")
    return o


class GL(nn.Module):
    """models/rest.py's GL: x + dwconv3x3(x)."""

    def __init__(self, dim):
        super().__init__()
        self.gl_conv = nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim)

    def forward(self, x):
        return x + self.gl_conv(x)


def reduction(kind, dim, sr):
    if kind == "dwconv":
        return nn.Conv2d(dim, dim, kernel_size=sr + 1, stride=sr, padding=sr // 2, groups=dim)
    if kind == "avg":
        return nn.AvgPool2d(kernel_size=sr + 1, stride=sr, padding=sr // 2)
    if kind == "max":
        return nn.MaxPool2d(kernel_size=sr + 1, stride=sr, padding=sr // 2)
    raise ValueError(kind)


class DesignAttention(nn.Module):
    """AttentionV1 / AttentionV2 of the official code with a branch per option (same keys)."""

    def __init__(self, dim, num_heads, sr_ratio, qkv_bias, eps, o):
        super().__init__()
        self.num_heads, self.sr_ratio, self.o = num_heads, sr_ratio, o
        self.scale = (dim // num_heads) ** -0.5
        if o["attention"]:
            self.q = nn.Linear(dim, dim, bias=qkv_bias)
            self.kv = nn.Linear(dim, dim * 2, bias=qkv_bias)
        elif o["upsample_target"] == "v":
            self.v = nn.Linear(dim, dim)
        if sr_ratio > 1:
            self.sr = reduction(o["reduction"], dim, sr_ratio)
            self.sr_norm = nn.LayerNorm(dim, eps=eps)
        self.apply_transform = o["apply_transform"] and num_heads > 1 and o["attention"]
        if self.apply_transform:
            self.transform_conv = nn.Conv2d(num_heads, num_heads, kernel_size=1, stride=1)
            self.transform_norm = nn.InstanceNorm2d(num_heads)
        up = o["upsample"]
        if up == "pixel-shuffle":
            self.up = nn.Sequential(
                nn.Conv2d(dim, sr_ratio * sr_ratio * dim, kernel_size=3, stride=1, padding=1, groups=dim),
                nn.PixelShuffle(upscale_factor=sr_ratio))
        elif up in ("nearest", "bilinear"):
            self.up = nn.Sequential(
                nn.Conv2d(dim, dim, kernel_size=3, stride=1, padding=1, groups=dim),
                nn.Upsample(scale_factor=sr_ratio, mode=up, align_corners=False if up == "bilinear" else None))
        if up != "none":
            self.up_norm = nn.LayerNorm(dim, eps=eps)
        self.proj = nn.Linear(dim, dim)
        self.branches = None

    def forward(self, x, H, W):
        B, N, C = x.shape
        h, sr = self.num_heads, self.sr_ratio
        if self.o["attention"]:
            q = self.q(x).reshape(B, N, h, C // h).permute(0, 2, 1, 3)
        xr = x
        if sr > 1:
            xr = x.permute(0, 2, 1).reshape(B, C, H, W)
            xr = self.sr(xr).reshape(B, C, -1).permute(0, 2, 1)
            xr = self.sr_norm(xr)
        grids = {"x": xr}
        out = None
        if self.o["attention"]:
            kv = self.kv(xr).reshape(B, -1, 2, h, C // h).permute(2, 0, 3, 1, 4)
            k, v = kv[0], kv[1]
            attn = (q @ k.transpose(-2, -1)) * self.scale
            if self.apply_transform:
                attn = self.transform_norm(self.transform_conv(attn).softmax(dim=-1))
            else:
                attn = attn.softmax(dim=-1)
            out = (attn @ v).transpose(1, 2).reshape(B, N, C)
            # the official identity: v.transpose(-1, -2).reshape(B, C, H/sr, W/sr); k likewise
            grids["k"] = k.transpose(-1, -2).reshape(B, C, H // sr, W // sr)
            grids["v"] = v.transpose(-1, -2).reshape(B, C, H // sr, W // sr)
        elif self.o["upsample_target"] == "v":
            grids["v"] = self.v(xr)
        up = None
        if self.o["upsample"] != "none":
            t = grids[self.o["upsample_target"]]
            if t.dim() == 3:  # tokens [B, M, C]
                t = t.transpose(1, 2).reshape(B, C, H // sr, W // sr)
            up = self.up_norm(self.up(t).flatten(2).transpose(1, 2))
        total = up if out is None else out if up is None else out + up
        self.branches = (out, up, total)
        return self.proj(total)


def window_attention(attn, y, H, W, ws):
    """attn on windows of side ws (or the whole axis where shorter), zero-padded bottom / right, cropped back."""
    B, N, C = y.shape
    y = y.view(B, H, W, C)
    wh, ww = min(ws, H), min(ws, W)
    ph, pw = (wh - H % wh) % wh, (ww - W % ww) % ww
    y = F.pad(y, (0, 0, 0, pw, 0, ph))
    Hp, Wp = H + ph, W + pw
    y = y.view(B, Hp // wh, wh, Wp // ww, ww, C).permute(0, 1, 3, 2, 4, 5).reshape(-1, wh * ww, C)
    out = attn(y, wh, ww)
    out = out.view(B, Hp // wh, Wp // ww, wh, ww, C).permute(0, 1, 3, 2, 4, 5).reshape(B, Hp, Wp, C)
    return out[:, :H, :W, :].reshape(B, H * W, C)


class DesignModel(nn.Module):
    """The official ResT / ResTv2 with the options of a rest-tf config."""

    def __init__(self, cfg):
        super().__init__()
        o = self.o = options(cfg)
        self.family = cfg["family"]
        base = {k: v for k, v in cfg.items() if k not in DEFAULTS or k == "apply_transform"}
        base["apply_transform"] = o["apply_transform"]
        if self.family == "v2":
            base.pop("apply_transform")
            base.pop("qkv_bias", None)
        self.net = ro.build_from_config(base)
        eps = cfg.get("layer_norm_eps", 1e-5 if self.family == "v1" else 1e-6)
        qkv_bias = cfg.get("qkv_bias", True) if self.family == "v1" else True
        dims = cfg["embed_dims"]
        embeds = ["stem"] + (["patch_embed_%d" % s for s in (2, 3, 4)] if self.family == "v1"
                             else ["patch_%d" % s for s in (2, 3, 4)])
        for s, name in enumerate(embeds):
            m = getattr(self.net, name)
            if o["position_encoding"] == "gl":
                m.pos = GL(dims[s])
            elif o["position_encoding"] == "none":
                m.with_pos = False
                del m.pos
        for s in range(4):
            for blk in getattr(self.net, "stage%d" % (s + 1)):
                blk.attn = DesignAttention(dims[s], cfg["num_heads"][s], cfg["sr_ratios"][s], qkv_bias, eps, o)
            if o["window_style"] == "cwin":
                setattr(self.net, "cwin%d" % (s + 1), nn.Conv2d(dims[s], dims[s], 3, padding=1, groups=dims[s]))

    def windowed(self, s, i):
        style = self.o["window_style"]
        return style in ("win", "cwin") or (style == "hwin" and i < len(getattr(self.net, "stage%d" % (s + 1))) - 1)

    def blocks(self):
        for s in range(4):
            for i, blk in enumerate(getattr(self.net, "stage%d" % (s + 1))):
                yield "stage%d.%d" % (s + 1, i), blk

    def forward(self, x, return_stages=False):
        n = self.net
        B = x.shape[0]
        stages = []
        if self.family == "v1":
            x = n.stem(x)
            _, _, H, W = x.shape
            x = x.flatten(2).permute(0, 2, 1)
            embeds = [None, n.patch_embed_2, n.patch_embed_3, n.patch_embed_4]
        else:
            x, (H, W) = n.stem(x)
            embeds = [None, n.patch_2, n.patch_3, n.patch_4]
        for s in range(4):
            if s > 0:
                x = x.permute(0, 2, 1).reshape(B, -1, H, W)
                x, (H, W) = embeds[s](x)
            for i, blk in enumerate(getattr(n, "stage%d" % (s + 1))):
                y = blk.norm1(x)
                if self.windowed(s, i):
                    y = window_attention(blk.attn, y, H, W, self.o["window_sizes"][s])
                else:
                    y = blk.attn(y, H, W)
                x = x + y
                x = x + blk.mlp(blk.norm2(x))
            if self.o["window_style"] == "cwin":
                g = x.permute(0, 2, 1).reshape(B, -1, H, W)
                g = g + getattr(n, "cwin%d" % (s + 1))(g)
                x = g.flatten(2).transpose(1, 2)
            if return_stages:
                stages.append(x.reshape(B, H, W, -1))
        x = n.norm(x)
        x = x.permute(0, 2, 1).reshape(B, -1, H, W)
        x = n.avg_pool(x).flatten(1)
        x = n.head(x)
        return (x, stages) if return_stages else x

    def state_dict_official(self):
        return {k[len("net."):]: v for k, v in self.state_dict().items()}

    def load_official(self, sd):
        self.load_state_dict({"net." + k: v for k, v in sd.items()}, strict=True)


def randomise(model, seed, q_gain=1.0, mild_head_mixing=False):
    """Every parameter and buffer from a fixed seed, scaled so activations stay O(1) (as make_seg_fixtures.py).
    ResT's head interaction normalises each attention map by its spread (InstanceNorm), which random weights can
    make tiny: then float32 itself (PyTorch's included) loses the digits a parity test compares. q_gain scales the
    q projections (attention logits further from uniform) and mild_head_mixing makes transform_conv identity +
    0.1 x the draw, as a trained model's is closer to than a random matrix; with both, PyTorch float32 stays
    within 5e-5 of float64 on every case (without: up to 2e-4)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                gain = q_gain if name.endswith(".attn.q") else 1.0
                m.weight.copy_(gain * torch.randn(m.weight.shape, generator=g) / math.sqrt(fan_in))
                if m.bias is not None:
                    m.bias.copy_(0.02 * torch.randn(m.bias.shape, generator=g))
            elif isinstance(m, (nn.LayerNorm, nn.BatchNorm2d)):
                m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                    m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
                    m.num_batches_tracked.fill_(1000)
        if mild_head_mixing:
            for name, m in model.named_modules():
                if name.endswith("transform_conv"):
                    h = m.weight.shape[0]
                    m.weight.copy_(torch.eye(h, dtype=m.weight.dtype).view(h, h, 1, 1) + 0.1 * m.weight)


def self_test():
    """Defaults reproduce the official model; win with windows >= every stage equals global; the padding path
    is exercised; every option builds, runs and changes the output."""
    torch.manual_seed(0)
    v2 = dict(family="v2", embed_dims=[16, 32, 48, 64], num_heads=[1, 2, 4, 8], depths=[2, 2, 2, 2],
              sr_ratios=[8, 4, 2, 1], num_classes=5, in_chans=3)
    v1 = dict(family="v1", embed_dims=[16, 32, 48, 64], num_heads=[1, 2, 4, 8], depths=[2, 2, 2, 2],
              sr_ratios=[8, 4, 2, 1], mlp_ratios=[4, 4, 4, 4], num_classes=5, in_chans=3, qkv_bias=True,
              apply_transform=True)
    x = torch.randn(2, 3, 128, 96, dtype=torch.float64)
    for cfg in (v1, v2):
        official = ro.build_from_config(cfg).double().eval()
        randomise(official, 1)
        d = DesignModel(cfg).double().eval()
        d.load_official(official.state_dict())
        assert torch.equal(official(x), d(x)), cfg["family"]
        print("defaults == official", cfg["family"])
    base = DesignModel(v2).double().eval()
    randomise(base, 2)
    ref = base(x)
    big = DesignModel(dict(v2, window_style="win", window_sizes=[64, 32, 16, 8])).double().eval()
    big.load_official(base.state_dict_official())
    err = (big(x) - ref).abs().max().item()
    assert err < 1e-12, err
    print("win with windows >= every stage == global: max diff %.2g" % err)
    variants = [dict(v1, reduction="avg"), dict(v1, reduction="max"), dict(v1, position_encoding="gl"),
                dict(v1, position_encoding="none", apply_transform=False), dict(v2, upsample="nearest"),
                dict(v2, upsample="bilinear"), dict(v2, upsample="none"), dict(v2, upsample_target="x"),
                dict(v2, upsample_target="k"), dict(v2, apply_transform=True), dict(v2, attention=False),
                dict(v2, attention=False, upsample_target="x"), dict(v2, window_style="win", window_sizes=[16, 8, 4, 2]),
                dict(v2, window_style="cwin", window_sizes=[16, 8, 4, 2]),
                dict(v2, window_style="hwin", window_sizes=[16, 8, 4, 2])]
    for cfg in variants:
        m = DesignModel(cfg).double().eval()
        randomise(m, 3)
        y = m(x)
        assert torch.isfinite(y).all()
        print("ok", {k: cfg[k] for k in cfg if k in DEFAULTS}, tuple(y.shape))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--self-test", action="store_true")
    if ap.parse_args().self_test:
        self_test()
