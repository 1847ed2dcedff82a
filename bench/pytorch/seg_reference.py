"""ResTv2 + UPerNet semantic segmentation in plain PyTorch, op for op as the official mmseg code computes it.

This is the float64 REFERENCE that rest-tf's segmentation port is compared against (fixtures made by
make_seg_fixtures.py). `ResTV2Seg` is mmsegmentation's `EncoderDecoder` built from the official config
`semantic_segmentation/configs/_base_/models/upernet_restv2.py` of github.com/wofmanaf/ResT:
backbone `ResTV2` (out_indices (0,1,2,3)), decode_head `UPerHead`, auxiliary_head `FCNHead`. Its
state_dict keys, their order and shapes equal those of an official mmseg checkpoint of that model
(`backbone.…`, `decode_head.…`, `auxiliary_head.…`). Only torch is needed: mmcv's BaseModule is replaced
by nn.Module, mmcv's ConvModule / build_norm_layer by the equivalent plain modules (below), timm's helpers
by rest_official's local ones. Runs with torch 1.13 (Debian's python3-torch).

Sources read (the exact files; commits as the code index holds them):
  * wofmanaf/ResT @ b9245d3f335e6c311798ce17b31c64990ee6c0e7:
      semantic_segmentation/backbone/rest_v2.py  (the mmseg backbone `ResTV2`, its `LayerNorm` class)
      semantic_segmentation/configs/_base_/models/upernet_restv2.py  (the model: heads, SyncBN, align_corners)
      semantic_segmentation/configs/ResTv2/upernet_restv2_{tiny,small,base}_512_160k_ade20k.py
  * open-mmlab/mmsegmentation, 0.x (the official ResT code targets mmseg 0.x, mmcv 1.x):
      mmseg/models/decode_heads/uper_head.py @ 46fd215c (0.x: `from mmcv.cnn import ConvModule`,
          `from mmseg.ops import resize`, `UPerHead(BaseDecodeHead)` with input_transform='multiple_select')
      mmseg/models/decode_heads/decode_head.py @ 0255eb96 (0.x `BaseDecodeHead(BaseModule)`: conv_seg,
          Dropout2d, cls_seg, _transform_inputs)
      mmseg/models/decode_heads/fcn_head.py @ 0b5f81f9 (0.x `FCNHead`)
      mmseg/models/decode_heads/psp_head.py: `PPM` @ 5563185b (1.x) and its ancestor `PSPModule` @ 0d003bc0;
          the PPM code is the same in every version (also in the 0.x copies the code index holds)
      mmseg/ops/wrappers.py @ 0ae504de (`resize` = warning + F.interpolate(input, size, None, mode, align_corners))
      mmseg/models/segmentors/encoder_decoder.py: 0.x text (encode_decode / slide_inference /
          whole_inference) as held by the 0.2x fork NielsRogge/mmsegmentation @ 119e1dad (whose only change,
          a debugging hack in encode_decode, is not copied), and 1.x @ 0067e6d8 (same slide loop)
  * open-mmlab/mmcv: mmcv/cnn/bricks/conv_module.py @ 013f784b (1.x ConvModule), mmcv/cnn/bricks/norm.py
      @ 056372fb (2.x) and its 1.x text (NORM_LAYERS registry, 'SyncBN' -> nn.SyncBatchNorm): build_norm_layer
      names the layer infer_abbr(type) + postfix '' -> 'bn' for (Sync)BatchNorm and does
      cfg.setdefault('eps', 1e-5), in both versions

What mmseg does, detail by detail (rest-tf must copy every one of these):
  * Backbone (rest_v2.py `ResTV2.forward`): stem -> stage1 blocks -> tokens to NCHW -> out[0] = norm_1(x);
    then patch_2 is applied to the UN-normed x (norm_i only produces the output, it is not on the trunk),
    and so on for stages 2..4. No final `norm`, no `head` (classification keys do not exist here).
    Blocks, stem, patch embeds are identical to the classification code (models/rest_v2.py), eps 1e-6
    everywhere; rest_official's ConvStemV2 / PatchEmbedV2 / BlockV2 are reused (checked line by line:
    same layers, same registration order, same eps, same forward).
  * norm_1..norm_4: rest_v2.py's own `LayerNorm(data_format="channels_first", eps=1e-6)`:
    u = mean_c(x); s = mean_c((x-u)^2) (biased); (x-u)/sqrt(s+eps); weight[:,None,None]*x + bias[:,None,None].
    Keys `backbone.norm_{i}.weight|bias` (plain Parameters, shape [C_i]).
  * ConvModule (mmcv 1.x): order conv -> norm -> act; bias='auto' -> the conv has NO bias because norm_cfg
    (SyncBN) is set; norm built by build_norm_layer -> attribute name `bn`, eps 1e-5 (the default,
    the config gives none), momentum 0.1; act ReLU. In eval SyncBN == BatchNorm2d with running stats:
    y = (x - running_mean) / sqrt(running_var + 1e-5) * weight + bias. Keys `<name>.conv.weight`,
    `<name>.bn.{weight,bias,running_mean,running_var,num_batches_tracked}`.
  * conv_seg: nn.Conv2d(channels, num_classes, 1) WITH bias; applied after Dropout2d(0.1) (identity in eval).
  * UPerHead(in_channels=dims, in_index=[0,1,2,3], channels=C, pool_scales=(1,2,3,6), align_corners=False):
      - PPM on inputs[3]: for each scale s in (1,2,3,6): nn.AdaptiveAvgPool2d(s) (PyTorch's bins:
        start=floor(i*H/s), end=ceil((i+1)*H/s), so bins are uneven / overlap when H % s != 0) ->
        ConvModule(dims[3], C, 1) -> resize to inputs[3]'s size, bilinear, align_corners=False
        (the head's align_corners is passed to PPM).
      - psp_forward: cat([x, ppm_1, ppm_2, ppm_3, ppm_6], dim=1) (x = inputs[3] FIRST, then the pool
        scales in order) -> bottleneck ConvModule(dims[3] + 4C, C, 3, padding=1).
      - laterals[i] = lateral_convs[i](inputs[i]) for i = 0,1,2 (ConvModule k=1); laterals[3] = psp_forward.
      - top-down, i = 3,2,1: laterals[i-1] = laterals[i-1] + resize(laterals[i], laterals[i-1].size,
        bilinear, align_corners=False) (so each level receives the already-summed coarser level).
      - fpn_outs[i] = fpn_convs[i](laterals[i]) for i = 0,1,2 (ConvModule 3x3 pad 1); fpn_outs[3] =
        laterals[3] (the PSP output, NO fpn conv).
      - fpn_outs[1..3] resized to fpn_outs[0]'s size (bilinear, align_corners=False); cat([f0, f1, f2, f3],
        dim=1) (finest first) -> fpn_bottleneck ConvModule(4C, C, 3, padding=1) -> dropout -> conv_seg.
  * FCNHead(in_channels=dims[2], in_index=2, channels=C_aux, num_convs=1, kernel_size=3, concat_input=False):
    convs = Sequential(ConvModule(dims[2], C_aux, 3, padding=1)) -> dropout -> conv_seg. No conv_cat.
  * EncoderDecoder.encode_decode: backbone -> decode_head.forward_test (= forward) -> resize to the
    input image's H, W (bilinear, align_corners = decode_head.align_corners = False). The auxiliary head
    is not used at inference (training loss only); aux_logits() exposes it for testing.
  * slide_inference (0.x): grids = max(H - crop + stride - 1, 0) // stride + 1; crop windows clamped to
    the image (y1 = max(min(y1 + crop, H) - crop, 0)); logits of each window (encode_decode, resized to the
    window) are zero-padded into place and summed; divided by count_mat (windows covering each pixel).
  * bilinear resize with align_corners=False is PyTorch's: src = (dst + 0.5) * in/out - 0.5, clamped
    below at 0; weights from the fractional part; the upper neighbour clamped to in-1 (no antialias).

    /usr/bin/python3 bench/pytorch/seg_reference.py --self-test
"""
import argparse
import math
import os
import sys
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rest_official as ro  # noqa: E402

__all__ = ["ResTV2Backbone", "ConvModule", "PPM", "UPerHead", "FCNHead", "ResTV2Seg", "resize",
           "SEG_VARIANTS", "build_seg", "expected_keys"]


# ----------------------------------------------------------------------------------------------
# mmseg/ops/wrappers.py: resize
# ----------------------------------------------------------------------------------------------
def resize(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """mmseg.ops.resize minus its warning: F.interpolate(input, size, scale_factor, mode, align_corners)."""
    if isinstance(size, torch.Size):
        size = tuple(int(x) for x in size)
    return F.interpolate(input, size, scale_factor, mode, align_corners)


# ----------------------------------------------------------------------------------------------
# semantic_segmentation/backbone/rest_v2.py
# ----------------------------------------------------------------------------------------------
class LayerNorm(nn.Module):
    """rest_v2.py's LayerNorm (channels_last: F.layer_norm; channels_first: by hand, as below)."""

    def __init__(self, dim, eps=1e-6, data_format="channels_last"):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.eps = eps
        self.data_format = data_format
        if self.data_format not in ["channels_last", "channels_first"]:
            raise NotImplementedError
        self.dim = (dim,)

    def forward(self, x):
        if self.data_format == "channels_last":
            return F.layer_norm(x, self.dim, self.weight, self.bias, self.eps)
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class ResTV2Backbone(nn.Module):
    """mmseg backbone `ResTV2` (rest_v2.py); BaseModule -> nn.Module, init_weights/pretrained loading dropped."""

    def __init__(self, in_chans=3, embed_dims=(96, 192, 384, 768), num_heads=(1, 2, 4, 8), drop_path_rate=0.0,
                 depths=(2, 2, 2, 2), sr_ratios=(8, 4, 2, 1), out_indices=(0, 1, 2, 3)):
        super().__init__()
        self.depths = list(depths)
        self.out_indices = tuple(out_indices)

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

        for idx in self.out_indices:
            self.add_module("norm_%d" % (idx + 1), LayerNorm(embed_dims[idx], eps=1e-6, data_format="channels_first"))

    def forward(self, x):
        outs = []
        B = x.shape[0]
        x, (H, W) = self.stem(x)
        embeds = [None, self.patch_2, self.patch_3, self.patch_4]
        for s in range(4):
            if s > 0:
                x, (H, W) = embeds[s](x)  # on the un-normed NCHW trunk
            for blk in getattr(self, "stage%d" % (s + 1)):
                x = blk(x, H, W)
            x = x.permute(0, 2, 1).reshape(B, -1, H, W)
            if s in self.out_indices:
                outs.append(getattr(self, "norm_%d" % (s + 1))(x))
        return tuple(outs)


# ----------------------------------------------------------------------------------------------
# mmcv ConvModule (conv_cfg=None, norm_cfg=SyncBN, act_cfg=ReLU, order conv/norm/act)
# ----------------------------------------------------------------------------------------------
class ConvModule(nn.Module):
    """conv (bias='auto' -> False, a norm follows) -> bn (BatchNorm, eps 1e-5; SyncBN in the config,
    identical in eval) -> ReLU. Attribute names `conv`, `bn`, `activate` as mmcv's."""

    def __init__(self, in_channels, out_channels, kernel_size, padding=0, inplace=True):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=1e-5)
        self.activate = nn.ReLU(inplace=inplace)

    def forward(self, x):
        return self.activate(self.bn(self.conv(x)))


# ----------------------------------------------------------------------------------------------
# mmseg decode heads (0.x)
# ----------------------------------------------------------------------------------------------
class BaseDecodeHead(nn.Module):
    """The parts of mmseg's BaseDecodeHead that exist at inference: conv_seg (registered first, so its keys
    come first in the state_dict), Dropout2d, cls_seg, _transform_inputs. The loss module has no state."""

    def __init__(self, in_channels, channels, num_classes, dropout_ratio=0.1, in_index=-1, input_transform=None,
                 align_corners=False):
        super().__init__()
        self.input_transform = input_transform
        self.in_index = in_index
        self.in_channels = in_channels
        self.channels = channels
        self.num_classes = num_classes
        self.align_corners = align_corners
        self.conv_seg = nn.Conv2d(channels, num_classes, kernel_size=1)
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 else None

    def _transform_inputs(self, inputs):
        if self.input_transform == "multiple_select":
            return [inputs[i] for i in self.in_index]
        assert self.input_transform is None
        return inputs[self.in_index]

    def cls_seg(self, feat):
        if self.dropout is not None:
            feat = self.dropout(feat)
        return self.conv_seg(feat)


class PPM(nn.ModuleList):
    """psp_head.py PPM: [AdaptiveAvgPool2d(s), ConvModule(in, ch, 1)] per scale, each resized back."""

    def __init__(self, pool_scales, in_channels, channels, align_corners):
        super().__init__()
        self.pool_scales = pool_scales
        self.align_corners = align_corners
        for pool_scale in pool_scales:
            self.append(nn.Sequential(nn.AdaptiveAvgPool2d(pool_scale), ConvModule(in_channels, channels, 1)))

    def forward(self, x):
        ppm_outs = []
        for ppm in self:
            ppm_outs.append(resize(ppm(x), size=x.size()[2:], mode="bilinear", align_corners=self.align_corners))
        return ppm_outs


class UPerHead(BaseDecodeHead):
    def __init__(self, in_channels, channels, num_classes, pool_scales=(1, 2, 3, 6), in_index=(0, 1, 2, 3),
                 dropout_ratio=0.1, align_corners=False):
        super().__init__(list(in_channels), channels, num_classes, dropout_ratio=dropout_ratio,
                         in_index=list(in_index), input_transform="multiple_select", align_corners=align_corners)
        self.psp_modules = PPM(pool_scales, self.in_channels[-1], self.channels, align_corners=self.align_corners)
        self.bottleneck = ConvModule(self.in_channels[-1] + len(pool_scales) * self.channels, self.channels, 3,
                                     padding=1)
        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for in_ch in self.in_channels[:-1]:  # skip the top layer
            self.lateral_convs.append(ConvModule(in_ch, self.channels, 1, inplace=False))
            self.fpn_convs.append(ConvModule(self.channels, self.channels, 3, padding=1, inplace=False))
        self.fpn_bottleneck = ConvModule(len(self.in_channels) * self.channels, self.channels, 3, padding=1)

    def psp_forward(self, inputs):
        x = inputs[-1]
        psp_outs = [x]
        psp_outs.extend(self.psp_modules(x))
        return self.bottleneck(torch.cat(psp_outs, dim=1))

    def forward(self, inputs):
        inputs = self._transform_inputs(inputs)
        laterals = [lateral_conv(inputs[i]) for i, lateral_conv in enumerate(self.lateral_convs)]
        laterals.append(self.psp_forward(inputs))
        used_backbone_levels = len(laterals)
        for i in range(used_backbone_levels - 1, 0, -1):
            prev_shape = laterals[i - 1].shape[2:]
            laterals[i - 1] = laterals[i - 1] + resize(laterals[i], size=prev_shape, mode="bilinear",
                                                       align_corners=self.align_corners)
        fpn_outs = [self.fpn_convs[i](laterals[i]) for i in range(used_backbone_levels - 1)]
        fpn_outs.append(laterals[-1])
        for i in range(used_backbone_levels - 1, 0, -1):
            fpn_outs[i] = resize(fpn_outs[i], size=fpn_outs[0].shape[2:], mode="bilinear",
                                 align_corners=self.align_corners)
        output = self.fpn_bottleneck(torch.cat(fpn_outs, dim=1))
        return self.cls_seg(output)


class FCNHead(BaseDecodeHead):
    def __init__(self, in_channels, channels, num_classes, in_index=-1, num_convs=2, kernel_size=3,
                 concat_input=True, dropout_ratio=0.1, align_corners=False):
        assert num_convs > 0
        super().__init__(in_channels, channels, num_classes, dropout_ratio=dropout_ratio, in_index=in_index,
                         input_transform=None, align_corners=align_corners)
        self.num_convs = num_convs
        self.concat_input = concat_input
        convs = [ConvModule(in_channels, channels, kernel_size, padding=kernel_size // 2)]
        for _ in range(num_convs - 1):
            convs.append(ConvModule(channels, channels, kernel_size, padding=kernel_size // 2))
        self.convs = nn.Sequential(*convs)
        if concat_input:
            self.conv_cat = ConvModule(in_channels + channels, channels, kernel_size, padding=kernel_size // 2)

    def forward(self, inputs):
        x = self._transform_inputs(inputs)
        output = self.convs(x)
        if self.concat_input:
            output = self.conv_cat(torch.cat([x, output], dim=1))
        return self.cls_seg(output)


# ----------------------------------------------------------------------------------------------
# mmseg EncoderDecoder
# ----------------------------------------------------------------------------------------------
class ResTV2Seg(nn.Module):
    """EncoderDecoder(backbone=ResTV2, decode_head=UPerHead, auxiliary_head=FCNHead), upernet_restv2.py."""

    def __init__(self, embed_dims=(96, 192, 384, 768), num_heads=(1, 2, 4, 8), depths=(1, 2, 6, 2),
                 sr_ratios=(8, 4, 2, 1), in_chans=3, channels=512, aux_channels=256, num_classes=150,
                 pool_scales=(1, 2, 3, 6), align_corners=False, drop_path_rate=0.0):
        super().__init__()
        self.backbone = ResTV2Backbone(in_chans, list(embed_dims), list(num_heads), drop_path_rate, list(depths),
                                       list(sr_ratios), out_indices=(0, 1, 2, 3))
        self.decode_head = UPerHead(list(embed_dims), channels, num_classes, pool_scales=tuple(pool_scales),
                                    in_index=(0, 1, 2, 3), dropout_ratio=0.1, align_corners=align_corners)
        self.auxiliary_head = FCNHead(embed_dims[2], aux_channels, num_classes, in_index=2, num_convs=1,
                                      concat_input=False, dropout_ratio=0.1, align_corners=align_corners)
        self.align_corners = self.decode_head.align_corners
        self.num_classes = num_classes

    def extract_feat(self, img):
        return self.backbone(img)

    def stage_features(self, img):
        """The four normed backbone outputs (NCHW), strides 4, 8, 16, 32."""
        return list(self.extract_feat(img))

    def encode_decode(self, img):
        x = self.extract_feat(img)
        out = self.decode_head(x)
        return resize(out, size=img.shape[2:], mode="bilinear", align_corners=self.align_corners)

    def aux_logits(self, img):
        """FCN auxiliary head output at stride 16 (NOT resized)."""
        return self.auxiliary_head(self.extract_feat(img))

    def forward_all(self, img):
        """(seg logits resized to the input, [stage1..4], aux logits) from one backbone pass."""
        x = self.extract_feat(img)
        seg = resize(self.decode_head(x), size=img.shape[2:], mode="bilinear", align_corners=self.align_corners)
        return seg, list(x), self.auxiliary_head(x)

    def forward(self, img):
        return self.encode_decode(img)

    def slide_inference(self, img, crop, stride, num_classes=None):
        """EncoderDecoder.slide_inference (rescale=False): crop / stride are ints or (h, w)."""
        h_crop, w_crop = ro._pair(crop)
        h_stride, w_stride = ro._pair(stride)
        num_classes = num_classes or self.num_classes
        batch_size, _, h_img, w_img = img.size()
        h_grids = max(h_img - h_crop + h_stride - 1, 0) // h_stride + 1
        w_grids = max(w_img - w_crop + w_stride - 1, 0) // w_stride + 1
        preds = img.new_zeros((batch_size, num_classes, h_img, w_img))
        count_mat = img.new_zeros((batch_size, 1, h_img, w_img))
        for h_idx in range(h_grids):
            for w_idx in range(w_grids):
                y1 = h_idx * h_stride
                x1 = w_idx * w_stride
                y2 = min(y1 + h_crop, h_img)
                x2 = min(x1 + w_crop, w_img)
                y1 = max(y2 - h_crop, 0)
                x1 = max(x2 - w_crop, 0)
                crop_img = img[:, :, y1:y2, x1:x2]
                crop_seg_logit = self.encode_decode(crop_img)
                preds += F.pad(crop_seg_logit, (int(x1), int(preds.shape[3] - x2), int(y1), int(preds.shape[2] - y2)))
                count_mat[:, :, y1:y2, x1:x2] += 1
        assert (count_mat == 0).sum() == 0
        return preds / count_mat


# ----------------------------------------------------------------------------------------------
# variants: the official configs/ResTv2/upernet_restv2_{tiny,small,base}_512_160k_ade20k.py
# (sr_ratios are not in the configs: the backbone's default [8, 4, 2, 1])
# ----------------------------------------------------------------------------------------------
SEG_VARIANTS = {
    "restv2_tiny": dict(embed_dims=[96, 192, 384, 768], num_heads=[1, 2, 4, 8], depths=[1, 2, 6, 2],
                        sr_ratios=[8, 4, 2, 1], drop_path_rate=0.1),
    "restv2_small": dict(embed_dims=[96, 192, 384, 768], num_heads=[1, 2, 4, 8], depths=[1, 2, 12, 2],
                         sr_ratios=[8, 4, 2, 1], drop_path_rate=0.2),
    "restv2_base": dict(embed_dims=[96, 192, 384, 768], num_heads=[1, 2, 4, 8], depths=[1, 3, 16, 3],
                        sr_ratios=[8, 4, 2, 1], drop_path_rate=0.3),
}
SEG_HEAD_DEFAULTS = dict(channels=512, aux_channels=256, pool_scales=[1, 2, 3, 6], num_classes=150,
                         align_corners=False)


def build_seg(cfg):
    """From a fixture config.json dict ({'backbone': {...}, 'head': {...}}) or a flat dict."""
    b = cfg.get("backbone", cfg)
    h = cfg.get("head", cfg)
    eps = cfg.get("layer_norm_eps", 1e-6)
    if not math.isclose(eps, 1e-6):
        raise ValueError("ResTv2 uses LayerNorm eps 1e-6, config says %r" % eps)
    return ResTV2Seg(embed_dims=b["embed_dims"], num_heads=b["num_heads"], depths=b["depths"],
                     sr_ratios=b.get("sr_ratios", [8, 4, 2, 1]), in_chans=b.get("in_chans", 3),
                     channels=h["channels"], aux_channels=h["aux_channels"], num_classes=h["num_classes"],
                     pool_scales=h.get("pool_scales", [1, 2, 3, 6]), align_corners=h.get("align_corners", False))


# ----------------------------------------------------------------------------------------------
# self-test
# ----------------------------------------------------------------------------------------------
_BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def expected_keys(embed_dims, depths, sr_ratios, channels, aux_channels, num_classes, in_chans=3,
                  pool_scales=(1, 2, 3, 6)):
    """The official checkpoint's [(key, shape)], written out from the mmseg / rest_v2.py sources by hand
    (independently of the modules above)."""
    d, C, Ca, K = embed_dims, channels, aux_channels, num_classes
    keys = []

    def add(k, *shape):
        keys.append(("backbone." + k if not k.startswith(("decode_head", "auxiliary_head")) else k, tuple(shape)))

    def conv_module(prefix, cin, cout, k):
        keys.append((prefix + ".conv.weight", (cout, cin, k, k)))
        for n in _BN:
            keys.append((prefix + ".bn." + n, () if n == "num_batches_tracked" else (cout,)))

    # ConvStem: proj = [conv, bn, relu, conv, bn, relu, conv1x1]
    h = d[0] // 2
    add("stem.proj.0.weight", h, in_chans, 3, 3)
    for n in _BN:
        add("stem.proj.1." + n, *(() if n == "num_batches_tracked" else (h,)))
    add("stem.proj.3.weight", 2 * h, h, 3, 3)
    for n in _BN:
        add("stem.proj.4." + n, *(() if n == "num_batches_tracked" else (2 * h,)))
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
        c, r = d[s], sr_ratios[s]
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
    for s in range(4):
        add("norm_%d.weight" % (s + 1), d[s])
        add("norm_%d.bias" % (s + 1), d[s])
    # decode head: BaseDecodeHead registers conv_seg first
    keys.append(("decode_head.conv_seg.weight", (K, C, 1, 1)))
    keys.append(("decode_head.conv_seg.bias", (K,)))
    for i in range(len(pool_scales)):
        conv_module("decode_head.psp_modules.%d.1" % i, d[3], C, 1)
    conv_module("decode_head.bottleneck", d[3] + len(pool_scales) * C, C, 3)
    for i in range(3):
        conv_module("decode_head.lateral_convs.%d" % i, d[i], C, 1)
    for i in range(3):
        conv_module("decode_head.fpn_convs.%d" % i, C, C, 3)
    conv_module("decode_head.fpn_bottleneck", 4 * C, C, 3)
    keys.append(("auxiliary_head.conv_seg.weight", (K, Ca, 1, 1)))
    keys.append(("auxiliary_head.conv_seg.bias", (K,)))
    conv_module("auxiliary_head.convs.0", d[2], Ca, 3)
    return keys


def _np_adaptive_avg_pool(x, s):
    """Independent adaptive average pooling (PyTorch's bin rule), numpy, x [C,H,W]."""
    import numpy as np
    C, H, W = x.shape
    out = np.zeros((C, s, s))
    for i in range(s):
        h0, h1 = (i * H) // s, -((-(i + 1) * H) // s)
        for j in range(s):
            w0, w1 = (j * W) // s, -((-(j + 1) * W) // s)
            out[:, i, j] = x[:, h0:h1, w0:w1].mean(axis=(1, 2))
    return out


def _np_bilinear(x, oh, ow):
    """Independent bilinear resize, align_corners=False (half-pixel, clamp at 0, upper index clamped)."""
    import numpy as np
    C, H, W = x.shape

    def axis(n_in, n_out):
        scale = n_in / n_out
        src = np.maximum((np.arange(n_out) + 0.5) * scale - 0.5, 0.0)
        i0 = np.floor(src).astype(int)
        i0 = np.minimum(i0, n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        f = src - i0
        return i0, i1, f

    y0, y1, fy = axis(H, oh)
    x0, x1, fx = axis(W, ow)
    top = x[:, y0][:, :, x0] * (1 - fx) + x[:, y0][:, :, x1] * fx
    bot = x[:, y1][:, :, x0] * (1 - fx) + x[:, y1][:, :, x1] * fx
    return top * (1 - fy)[None, :, None] + bot * fy[None, :, None]


def self_test():
    import numpy as np
    torch.set_num_threads(1)
    torch.manual_seed(0)
    problems = []

    def check(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            problems.append(what)

    # 1. keys, order and shapes vs the hand-written list, for the real tiny/small/base and a narrow one
    for name, v in SEG_VARIANTS.items():
        for div in (1, 8):
            dims = [c // div for c in v["embed_dims"]]
            m = ResTV2Seg(embed_dims=dims, num_heads=v["num_heads"], depths=v["depths"], sr_ratios=v["sr_ratios"],
                          channels=512 // div, aux_channels=256 // div, num_classes=150 if div == 1 else 10)
            got = [(k, tuple(t.shape)) for k, t in m.state_dict().items()]
            want = expected_keys(dims, v["depths"], v["sr_ratios"], 512 // div, 256 // div, 150 if div == 1 else 10)
            same = got == want
            if not same:
                gk, wk = dict(got), dict(want)
                print("  missing", [k for k in wk if k not in gk][:5], "extra", [k for k in gk if k not in wk][:5],
                      "shape", [k for k in gk if k in wk and gk[k] != wk[k]][:5])
            check(same, "%s /%d: %d state_dict keys, order and shapes as the hand-written mmseg list"
                  % (name, div, len(got)))
            if div == 1:
                nparam = sum(p.numel() for p in m.parameters())
                # semantic_segmentation/README.md of the official repo: #params 62.1M / 72.9M / 87.6M
                readme = {"restv2_tiny": 62.1, "restv2_small": 72.9, "restv2_base": 87.6}[name]
                check(round(nparam / 1e6, 1) == readme, "%s (150 classes): %.2fM parameters (auxiliary head "
                      "included), official README says %.1fM" % (name, nparam / 1e6, readme))

    # 2. no classification leftovers, BN flavour
    m = ResTV2Seg(embed_dims=[12, 24, 48, 96], depths=[1, 2, 6, 2], channels=64, aux_channels=32, num_classes=10)
    sd = m.state_dict()
    check(not any(k.startswith(("backbone.norm.", "backbone.head.")) for k in sd), "no backbone.norm / head keys")
    bns = [mod for mod in m.modules() if isinstance(mod, nn.BatchNorm2d)]
    check(all(b.eps == 1e-5 for b in bns), "all %d BatchNorms eps 1e-5" % len(bns))
    convs = [mod for n, mod in m.named_modules() if isinstance(mod, ConvModule)]
    check(all(c.conv.bias is None for c in convs), "all %d ConvModule convs without bias" % len(convs))
    lns = [mod for mod in m.modules() if isinstance(mod, (nn.LayerNorm, LayerNorm))]
    check(all(l.eps == 1e-6 for l in lns), "all %d LayerNorms eps 1e-6" % len(lns))

    # 3. shapes on the fixture input sizes
    m.eval()
    for shape in [(1, 3, 128, 160), (2, 3, 224, 160)]:
        x = torch.randn(*shape)
        with torch.no_grad():
            seg, stages, aux = m.forward_all(x)
            seg2 = m.encode_decode(x)
        B, _, H, W = shape
        check(tuple(seg.shape) == (B, 10, H, W), "seg logits %s for input %s" % (tuple(seg.shape), shape))
        check([tuple(s.shape) for s in stages] == [(B, c, H // r, W // r) for c, r in zip([12, 24, 48, 96],
                                                                                          [4, 8, 16, 32])],
              "stages %s" % [tuple(s.shape[2:]) for s in stages])
        check(tuple(aux.shape) == (B, 10, H // 16, W // 16), "aux logits %s (stride 16)" % (tuple(aux.shape),))
        check(torch.equal(seg, seg2), "forward_all == encode_decode")
        with torch.no_grad():
            sl = m.slide_inference(x, crop=(H, W), stride=(H, W))
        check(torch.allclose(sl, seg, atol=1e-6), "slide_inference with crop = image == encode_decode")
        with torch.no_grad():
            sl = m.slide_inference(x, crop=(96, 96), stride=(64, 64))
        check(tuple(sl.shape) == (B, 10, H, W) and bool(torch.isfinite(sl).all()),
              "slide_inference 96/64 windows: %s" % (tuple(sl.shape),))

    # 4. the channels_first LayerNorm == F.layer_norm over C
    ln = LayerNorm(7, eps=1e-6, data_format="channels_first").double()
    with torch.no_grad():
        ln.weight.normal_()
        ln.bias.normal_()
    x = torch.randn(2, 7, 5, 3, dtype=torch.float64)
    ref = F.layer_norm(x.permute(0, 2, 3, 1), (7,), ln.weight, ln.bias, 1e-6).permute(0, 3, 1, 2)
    check(torch.allclose(ln(x), ref, atol=1e-12), "channels_first LayerNorm == layer_norm over channels")

    # 5. PPM's pooling and resize against independent numpy versions, on uneven 4x5 and 7x5 maps
    for (hh, ww) in [(4, 5), (7, 5)]:
        x = torch.randn(1, 3, hh, ww, dtype=torch.float64)
        for s in (1, 2, 3, 6):
            p = nn.AdaptiveAvgPool2d(s)(x)
            pn = _np_adaptive_avg_pool(x[0].numpy(), s)
            up = resize(p, size=(hh, ww), mode="bilinear", align_corners=False)
            upn = _np_bilinear(pn, hh, ww)
            check(np.abs(p[0].numpy() - pn).max() < 1e-12 and np.abs(up[0].numpy() - upn).max() < 1e-12,
                  "AdaptiveAvgPool2d(%d) on %dx%d + bilinear back == numpy (floor/ceil bins, half-pixel)" % (s, hh, ww))
    x = torch.randn(1, 2, 7, 5, dtype=torch.float64)
    check(np.abs(resize(x, size=(28, 20), mode="bilinear", align_corners=False)[0].numpy()
                 - _np_bilinear(x[0].numpy(), 28, 20)).max() < 1e-12, "bilinear x4 upsample == numpy")
    check(np.abs(resize(x, size=(14, 9), mode="bilinear", align_corners=False)[0].numpy()
                 - _np_bilinear(x[0].numpy(), 14, 9)).max() < 1e-12, "bilinear 7x5 -> 14x9 == numpy")

    print("\n%d problem(s)" % len(problems))
    return 1 if problems else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--self-test", action="store_true", help="check keys / shapes / ops")
    args = ap.parse_args()
    if args.self_test:
        sys.exit(self_test())
    ap.print_help()


if __name__ == "__main__":
    main()
