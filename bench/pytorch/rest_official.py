"""ResT (NeurIPS 2021) and ResTv2 (NeurIPS 2022) in plain PyTorch, op for op as the official
implementation (github.com/wofmanaf/ResT, models/rest.py and models/rest_v2.py) computes them.

This is the PyTorch baseline that rest-tf is measured against, so it does exactly what the official
code does, in the same order, with the same modules: same module tree and parameter names (the
state_dict keys equal the released checkpoints' keys, see /work/shared/fixtures/manifests/), same
layers (nn.Linear / nn.Conv2d / nn.LayerNorm / nn.BatchNorm2d / nn.InstanceNorm2d /
nn.PixelShuffle), same reshapes and permutes. Only the timm helpers the official files import
(DropPath, to_2tuple, trunc_normal_, register_model) are replaced by local equivalents, so that
nothing beyond torch is needed. verify.py checks it against the reference fixtures.

Written for torch 1.13 (Debian bookworm's python3-torch), works with later versions.
"""
import math

import torch
import torch.nn as nn

__all__ = ["ResT", "ResTV2", "VARIANTS", "build", "build_from_config"]


# ----------------------------------------------------------------------------------------------
# timm replacements
# ----------------------------------------------------------------------------------------------
class DropPath(nn.Module):
    """Stochastic depth per sample (timm.models.layers.DropPath, scale_by_keep=True)."""

    def __init__(self, drop_prob=0.0):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask_shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        mask = x.new_empty(mask_shape).bernoulli_(keep)
        if keep > 0.0:
            mask.div_(keep)
        return x * mask


def _trunc_normal(t, std=0.02):
    # timm.trunc_normal_(t, std) == torch's trunc_normal_ with bounds [-2, 2] (absolute)
    nn.init.trunc_normal_(t, mean=0.0, std=std, a=-2.0, b=2.0)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


class PA(nn.Module):
    """Pixel attention positional encoding: x * sigmoid(dwconv3x3(x)). Same in v1 and v2."""

    def __init__(self, dim):
        super().__init__()
        self.pa_conv = nn.Conv2d(dim, dim, kernel_size=3, padding=1, groups=dim, bias=True)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        return x * self.sigmoid(self.pa_conv(x))


# ----------------------------------------------------------------------------------------------
# ResT (v1): models/rest.py
# ----------------------------------------------------------------------------------------------
class MlpV1(nn.Module):
    def __init__(self, in_features, hidden_features=None, out_features=None, act_layer=nn.GELU, drop=0.0):
        super().__init__()
        hidden_features = hidden_features or in_features
        out_features = out_features or in_features
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = act_layer()
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        x = self.drop(self.act(self.fc1(x)))
        return self.drop(self.fc2(x))


class AttentionV1(nn.Module):
    """Efficient multi-head self-attention: keys/values from a depthwise-conv-reduced grid, and
    (apply_transform, >1 head) a 1x1 conv across heads -> softmax -> InstanceNorm over heads."""

    def __init__(self, dim, num_heads=8, qkv_bias=False, qk_scale=None, attn_drop=0.0, proj_drop=0.0,
                 sr_ratio=1, apply_transform=False):
        super().__init__()
        self.num_heads = num_heads
        head_dim = dim // num_heads
        self.scale = qk_scale or head_dim ** -0.5

        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv = nn.Linear(dim, dim * 2, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, kernel_size=sr_ratio + 1, stride=sr_ratio,
                                padding=sr_ratio // 2, groups=dim)
            self.sr_norm = nn.LayerNorm(dim)  # the official code: always nn.LayerNorm's default eps

        self.apply_transform = apply_transform and num_heads > 1
        if self.apply_transform:
            self.transform_conv = nn.Conv2d(num_heads, num_heads, kernel_size=1, stride=1)
            self.transform_norm = nn.InstanceNorm2d(num_heads)

    def forward(self, x, H, W):
        B, N, C = x.shape
        h = self.num_heads
        q = self.q(x).reshape(B, N, h, C // h).permute(0, 2, 1, 3)
        if self.sr_ratio > 1:
            xr = x.permute(0, 2, 1).reshape(B, C, H, W)
            xr = self.sr(xr).reshape(B, C, -1).permute(0, 2, 1)
            xr = self.sr_norm(xr)
            kv = self.kv(xr).reshape(B, -1, 2, h, C // h).permute(2, 0, 3, 1, 4)
        else:
            kv = self.kv(x).reshape(B, N, 2, h, C // h).permute(2, 0, 3, 1, 4)
        k, v = kv[0], kv[1]

        attn = (q @ k.transpose(-2, -1)) * self.scale
        if self.apply_transform:
            attn = self.transform_conv(attn)
            attn = attn.softmax(dim=-1)
            attn = self.transform_norm(attn)
        else:
            attn = attn.softmax(dim=-1)
        attn = self.attn_drop(attn)

        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj_drop(self.proj(x))


class BlockV1(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4.0, qkv_bias=False, qk_scale=None, drop=0.0, attn_drop=0.0,
                 drop_path=0.0, act_layer=nn.GELU, norm_layer=nn.LayerNorm, sr_ratio=1, apply_transform=False):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = AttentionV1(dim, num_heads=num_heads, qkv_bias=qkv_bias, qk_scale=qk_scale,
                                attn_drop=attn_drop, proj_drop=drop, sr_ratio=sr_ratio,
                                apply_transform=apply_transform)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = MlpV1(dim, int(dim * mlp_ratio), act_layer=act_layer, drop=drop)

    def forward(self, x, H, W):
        x = x + self.drop_path(self.attn(self.norm1(x), H, W))
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x


class PatchEmbedV1(nn.Module):
    """conv (k = p+1, stride p, pad p//2, bias) -> BatchNorm -> PA, then flatten to tokens."""

    def __init__(self, patch_size=16, in_ch=3, out_ch=768, with_pos=False):
        super().__init__()
        self.patch_size = _pair(patch_size)
        self.conv = nn.Conv2d(in_ch, out_ch, kernel_size=patch_size + 1, stride=patch_size,
                              padding=patch_size // 2)
        self.norm = nn.BatchNorm2d(out_ch)
        self.with_pos = with_pos
        if with_pos:
            self.pos = PA(out_ch)

    def forward(self, x):
        _, _, H, W = x.shape
        x = self.norm(self.conv(x))
        if self.with_pos:
            x = self.pos(x)
        x = x.flatten(2).transpose(1, 2)
        return x, (H // self.patch_size[0], W // self.patch_size[1])


class BasicStemV1(nn.Module):
    """conv3x3 s2 -> BN -> ReLU -> conv3x3 s1 -> BN -> ReLU -> conv3x3 s2 -> PA (convs without bias)."""

    def __init__(self, in_ch=3, out_ch=64, with_pos=False):
        super().__init__()
        hidden = out_ch // 2
        self.conv1 = nn.Conv2d(in_ch, hidden, kernel_size=3, stride=2, padding=1, bias=False)
        self.norm1 = nn.BatchNorm2d(hidden)
        self.conv2 = nn.Conv2d(hidden, hidden, kernel_size=3, stride=1, padding=1, bias=False)
        self.norm2 = nn.BatchNorm2d(hidden)
        self.conv3 = nn.Conv2d(hidden, out_ch, kernel_size=3, stride=2, padding=1, bias=False)
        self.act = nn.ReLU(inplace=True)
        self.with_pos = with_pos
        if with_pos:
            self.pos = PA(out_ch)

    def forward(self, x):
        x = self.act(self.norm1(self.conv1(x)))
        x = self.act(self.norm2(self.conv2(x)))
        x = self.conv3(x)
        if self.with_pos:
            x = self.pos(x)
        return x


class ResT(nn.Module):
    def __init__(self, in_chans=3, num_classes=1000, embed_dims=(64, 128, 256, 512), num_heads=(1, 2, 4, 8),
                 mlp_ratios=(4, 4, 4, 4), qkv_bias=False, qk_scale=None, drop_rate=0.0, attn_drop_rate=0.0,
                 drop_path_rate=0.0, depths=(2, 2, 2, 2), sr_ratios=(8, 4, 2, 1), norm_layer=nn.LayerNorm,
                 apply_transform=False):
        super().__init__()
        self.num_classes = num_classes
        self.depths = list(depths)
        self.apply_transform = apply_transform

        self.stem = BasicStemV1(in_ch=in_chans, out_ch=embed_dims[0], with_pos=True)
        self.patch_embed_2 = PatchEmbedV1(2, embed_dims[0], embed_dims[1], with_pos=True)
        self.patch_embed_3 = PatchEmbedV1(2, embed_dims[1], embed_dims[2], with_pos=True)
        self.patch_embed_4 = PatchEmbedV1(2, embed_dims[2], embed_dims[3], with_pos=True)

        dpr = [r.item() for r in torch.linspace(0, drop_path_rate, sum(depths))]
        cur = 0
        for s in range(4):
            blocks = nn.ModuleList([
                BlockV1(embed_dims[s], num_heads[s], mlp_ratios[s], qkv_bias, qk_scale, drop_rate, attn_drop_rate,
                        drop_path=dpr[cur + i], norm_layer=norm_layer, sr_ratio=sr_ratios[s],
                        apply_transform=apply_transform)
                for i in range(depths[s])])
            setattr(self, "stage%d" % (s + 1), blocks)
            cur += depths[s]

        self.norm = norm_layer(embed_dims[3])
        self.avg_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.head = nn.Linear(embed_dims[3], num_classes) if num_classes > 0 else nn.Identity()
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m):
        if isinstance(m, nn.Conv2d):
            _trunc_normal(m.weight)
        elif isinstance(m, nn.Linear):
            _trunc_normal(m.weight)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, (nn.LayerNorm, nn.BatchNorm2d)):
            nn.init.constant_(m.weight, 1.0)
            nn.init.constant_(m.bias, 0)

    def forward(self, x, return_stages=False):
        stages = []
        x = self.stem(x)
        B, _, H, W = x.shape
        x = x.flatten(2).permute(0, 2, 1)
        embeds = [None, self.patch_embed_2, self.patch_embed_3, self.patch_embed_4]
        for s in range(4):
            if s > 0:
                x = x.permute(0, 2, 1).reshape(B, -1, H, W)
                x, (H, W) = embeds[s](x)
            for blk in getattr(self, "stage%d" % (s + 1)):
                x = blk(x, H, W)
            if return_stages:
                stages.append(x.reshape(B, H, W, -1))  # tokens are row-major: NHWC
        x = self.norm(x)
        x = x.permute(0, 2, 1).reshape(B, -1, H, W)
        x = self.avg_pool(x).flatten(1)
        x = self.head(x)
        return (x, stages) if return_stages else x


# ----------------------------------------------------------------------------------------------
# ResTv2: models/rest_v2.py
# ----------------------------------------------------------------------------------------------
class MlpV2(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class AttentionV2(nn.Module):
    """Efficient MSA plus the upsample branch: V (on the reduced grid) -> depthwise conv3x3 to r^2*C
    -> PixelShuffle(r) -> LayerNorm, added to the attention output before proj."""

    def __init__(self, dim, num_heads=8, sr_ratio=1):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.dim = dim

        self.q = nn.Linear(dim, dim, bias=True)
        self.kv = nn.Linear(dim, dim * 2, bias=True)

        self.sr_ratio = sr_ratio
        if sr_ratio > 1:
            self.sr = nn.Conv2d(dim, dim, kernel_size=sr_ratio + 1, stride=sr_ratio, padding=sr_ratio // 2,
                                groups=dim)
            self.sr_norm = nn.LayerNorm(dim, eps=1e-6)

        self.up = nn.Sequential(
            nn.Conv2d(dim, sr_ratio * sr_ratio * dim, kernel_size=3, stride=1, padding=1, groups=dim),
            nn.PixelShuffle(upscale_factor=sr_ratio),
        )
        self.up_norm = nn.LayerNorm(dim, eps=1e-6)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, H, W):
        B, N, C = x.shape
        h = self.num_heads
        q = self.q(x).reshape(B, N, h, C // h).permute(0, 2, 1, 3)
        if self.sr_ratio > 1:
            x = x.permute(0, 2, 1).reshape(B, C, H, W)
            x = self.sr(x).reshape(B, C, -1).permute(0, 2, 1)
            x = self.sr_norm(x)
        kv = self.kv(x).reshape(B, -1, 2, h, C // h).permute(2, 0, 3, 1, 4)
        k, v = kv[0], kv[1]
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)

        identity = v.transpose(-1, -2).reshape(B, C, H // self.sr_ratio, W // self.sr_ratio)
        identity = self.up(identity).flatten(2).transpose(1, 2)
        return self.proj(x + self.up_norm(identity))


class BlockV2(nn.Module):
    def __init__(self, dim, num_heads, sr_ratio=1, drop_path=0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = AttentionV2(dim, num_heads=num_heads, sr_ratio=sr_ratio)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MlpV2(dim)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()

    def forward(self, x, H, W):
        x = x + self.drop_path(self.attn(self.norm1(x), H, W))
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x


class ConvStemV2(nn.Module):
    """proj = [conv3x3 s2 (no bias), BN, ReLU, conv3x3 s2 (no bias), BN, ReLU, conv1x1 (bias)] -> PA -> LN."""

    def __init__(self, in_ch=3, out_ch=96, patch_size=2, with_pos=True):
        super().__init__()
        self.patch_size = _pair(patch_size)
        layers = []
        cin, cout = in_ch, out_ch // 2
        for _ in range(2):
            layers += [nn.Conv2d(cin, cout, kernel_size=3, stride=2, padding=1, bias=False),
                       nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            cin, cout = cout, cout * 2
        layers.append(nn.Conv2d(cin, out_ch, kernel_size=1, stride=1))
        self.proj = nn.Sequential(*layers)
        self.with_pos = with_pos
        if with_pos:
            self.pos = PA(out_ch)
        self.norm = nn.LayerNorm(out_ch, eps=1e-6)

    def forward(self, x):
        _, _, H, W = x.shape
        x = self.proj(x)
        if self.with_pos:
            x = self.pos(x)
        x = self.norm(x.flatten(2).transpose(1, 2))
        return x, (H // self.patch_size[0], W // self.patch_size[1])


class PatchEmbedV2(nn.Module):
    """conv (k = p+1, stride p, pad p//2, bias) -> PA -> LN."""

    def __init__(self, in_ch=3, out_ch=96, patch_size=2, with_pos=True):
        super().__init__()
        self.patch_size = _pair(patch_size)
        self.proj = nn.Conv2d(in_ch, out_ch, kernel_size=patch_size + 1, stride=patch_size,
                              padding=patch_size // 2)
        self.with_pos = with_pos
        if with_pos:
            self.pos = PA(out_ch)
        self.norm = nn.LayerNorm(out_ch, eps=1e-6)

    def forward(self, x):
        _, _, H, W = x.shape
        x = self.proj(x)
        if self.with_pos:
            x = self.pos(x)
        x = self.norm(x.flatten(2).transpose(1, 2))
        return x, (H // self.patch_size[0], W // self.patch_size[1])


class ResTV2(nn.Module):
    def __init__(self, in_chans=3, num_classes=1000, embed_dims=(96, 192, 384, 768), num_heads=(1, 2, 4, 8),
                 drop_path_rate=0.0, depths=(2, 2, 2, 2), sr_ratios=(8, 4, 2, 1)):
        super().__init__()
        self.num_classes = num_classes
        self.depths = list(depths)

        self.stem = ConvStemV2(in_chans, embed_dims[0], patch_size=4)
        self.patch_2 = PatchEmbedV2(embed_dims[0], embed_dims[1], patch_size=2)
        self.patch_3 = PatchEmbedV2(embed_dims[1], embed_dims[2], patch_size=2)
        self.patch_4 = PatchEmbedV2(embed_dims[2], embed_dims[3], patch_size=2)

        dpr = [r.item() for r in torch.linspace(0, drop_path_rate, sum(depths))]
        cur = 0
        for s in range(4):
            blocks = nn.ModuleList([BlockV2(embed_dims[s], num_heads[s], sr_ratios[s], dpr[cur + i])
                                    for i in range(depths[s])])
            setattr(self, "stage%d" % (s + 1), blocks)
            cur += depths[s]

        self.norm = nn.LayerNorm(embed_dims[-1], eps=1e-6)
        self.avg_pool = nn.AdaptiveAvgPool2d((1, 1))
        self.head = nn.Linear(embed_dims[3], num_classes) if num_classes > 0 else nn.Identity()
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            _trunc_normal(m.weight)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, (nn.LayerNorm, nn.BatchNorm2d)):
            nn.init.constant_(m.weight, 1.0)
            nn.init.constant_(m.bias, 0.0)

    def forward(self, x, return_stages=False):
        stages = []
        B = x.shape[0]
        x, (H, W) = self.stem(x)
        embeds = [None, self.patch_2, self.patch_3, self.patch_4]
        for s in range(4):
            if s > 0:
                x = x.permute(0, 2, 1).reshape(B, -1, H, W)
                x, (H, W) = embeds[s](x)
            for blk in getattr(self, "stage%d" % (s + 1)):
                x = blk(x, H, W)
            if return_stages:
                stages.append(x.reshape(B, H, W, -1))
        x = self.norm(x)
        x = x.permute(0, 2, 1).reshape(B, -1, H, W)
        x = self.avg_pool(x).flatten(1)
        x = self.head(x)
        return (x, stages) if return_stages else x


# ----------------------------------------------------------------------------------------------
# the released variants (the official register_model functions)
# ----------------------------------------------------------------------------------------------
VARIANTS = {
    "rest_lite": dict(family="v1", embed_dims=[64, 128, 256, 512], num_heads=[1, 2, 4, 8], mlp_ratios=[4, 4, 4, 4],
                      qkv_bias=True, depths=[2, 2, 2, 2], sr_ratios=[8, 4, 2, 1], apply_transform=True),
    "rest_small": dict(family="v1", embed_dims=[64, 128, 256, 512], num_heads=[1, 2, 4, 8], mlp_ratios=[4, 4, 4, 4],
                       qkv_bias=True, depths=[2, 2, 6, 2], sr_ratios=[8, 4, 2, 1], apply_transform=True),
    "rest_base": dict(family="v1", embed_dims=[96, 192, 384, 768], num_heads=[1, 2, 4, 8], mlp_ratios=[4, 4, 4, 4],
                      qkv_bias=True, depths=[2, 2, 6, 2], sr_ratios=[8, 4, 2, 1], apply_transform=True),
    "rest_large": dict(family="v1", embed_dims=[96, 192, 384, 768], num_heads=[1, 2, 4, 8], mlp_ratios=[4, 4, 4, 4],
                       qkv_bias=True, depths=[2, 2, 18, 2], sr_ratios=[8, 4, 2, 1], apply_transform=True),
    "restv2_tiny": dict(family="v2", embed_dims=[96, 192, 384, 768], num_heads=[1, 2, 4, 8], depths=[1, 2, 6, 2],
                        sr_ratios=[8, 4, 2, 1]),
    "restv2_small": dict(family="v2", embed_dims=[96, 192, 384, 768], num_heads=[1, 2, 4, 8], depths=[1, 2, 12, 2],
                         sr_ratios=[8, 4, 2, 1]),
    "restv2_base": dict(family="v2", embed_dims=[96, 192, 384, 768], num_heads=[1, 2, 4, 8], depths=[1, 3, 16, 3],
                        sr_ratios=[8, 4, 2, 1]),
    "restv2_large": dict(family="v2", embed_dims=[128, 256, 512, 1024], num_heads=[2, 4, 8, 16], depths=[2, 3, 16, 2],
                         sr_ratios=[8, 4, 2, 1]),
}

_V1_ARGS = ("in_chans", "num_classes", "embed_dims", "num_heads", "mlp_ratios", "qkv_bias", "qk_scale", "drop_rate",
            "attn_drop_rate", "drop_path_rate", "depths", "sr_ratios", "apply_transform")
_V2_ARGS = ("in_chans", "num_classes", "embed_dims", "num_heads", "drop_path_rate", "depths", "sr_ratios")


def build_from_config(cfg, **overrides):
    """Builds a model from a fixture / manifest config dict (official constructor argument names plus
    'family' and optionally 'layer_norm_eps'). v1's LayerNorm eps is nn.LayerNorm's default (1e-5) in the
    official code; v2 hard-codes 1e-6 (the config's layer_norm_eps must then be 1e-6)."""
    cfg = dict(cfg, **overrides)
    family = cfg.get("family") or ("v2" if "apply_transform" not in cfg else "v1")
    if family == "v1":
        kwargs = {k: cfg[k] for k in _V1_ARGS if k in cfg}
        eps = cfg.get("layer_norm_eps", 1e-5)
        if eps != 1e-5:
            kwargs["norm_layer"] = lambda d: nn.LayerNorm(d, eps=eps)
        return ResT(**kwargs)
    if family == "v2":
        eps = cfg.get("layer_norm_eps", 1e-6)
        if not math.isclose(eps, 1e-6):
            raise ValueError("ResTv2 uses LayerNorm eps 1e-6, config says %r" % eps)
        mlp = cfg.get("mlp_ratios", [4, 4, 4, 4])
        if any(r != 4 for r in mlp):
            raise ValueError("ResTv2's Mlp is fixed at ratio 4, config says %r" % mlp)
        return ResTV2(**{k: cfg[k] for k in _V2_ARGS if k in cfg})
    raise ValueError("unknown family %r" % family)


def build(variant, **kwargs):
    """A released variant, like the official register_model functions (e.g. build('rest_lite'))."""
    return build_from_config(VARIANTS[variant], **kwargs)
