"""mmseg's test pipeline for the official ResTv2 ADE20K models, with OpenCV as mmcv runs it, as the reference of
rest-tf's in-graph segment_images / preprocess_images (savedmodels' MmsegTestPipeline).

    /usr/bin/python3 bench/pytorch/make_seg_pipeline_fixtures.py     # needs python3-opencv, torch, numpy

For each test image (savedmodels/src/test/resources/io/resttf/serving/pil/{odd_333x517.jpg, rgba_97x150.png}):
  LoadImageFromFile        cv2.imread(path, cv2.IMREAD_COLOR): BGR uint8 (alpha dropped, grey replicated)
  AlignResize(img_scale=(2048, 512), keep_ratio=True, size_divisor=32)   (semantic_segmentation/tools/align_resize.py)
      mmcv.imrescale: scale = min(2048 / long side, 512 / short side), new size (int(w*s + 0.5), int(h*s + 0.5)),
      cv2.resize(..., interpolation=cv2.INTER_LINEAR); then _align: cv2.resize to (ceil(w/32)*32, ceil(h/32)*32)
  Normalize(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True): mmcv.imnormalize
  EncoderDecoder.inference(mode='whole', rescale=True): encode_decode, then the logits resized to the original
      (h, w) (bilinear, align_corners=False), softmax, argmax -> class map
writes into savedmodels/src/test/resources/io/resttf/serving/segpipe/:
  <image>.aligned.npy   uint8 [H', W', 3] RGB: the image after AlignResize (before Normalize)
  <image>.class_map.npy uint8 [h, w]: the class map of the restv2_tiny-narrow-upernet parity model (float64) on the
                        normalised image, at the image's original size
"""
import os
import sys

import cv2
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import seg_reference as sr  # noqa: E402

IMAGES = os.path.join(REPO, "savedmodels", "src", "test", "resources", "io", "resttf", "serving", "pil")
OUT = os.path.join(REPO, "savedmodels", "src", "test", "resources", "io", "resttf", "serving", "segpipe")
CASE = os.path.join(REPO, "converters", "src", "test", "resources", "io", "resttf", "seg", "parity",
                    "restv2_tiny-narrow-upernet")
MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float64)
STD = np.array([58.395, 57.12, 57.375], dtype=np.float64)


def align_resize(img):
    h, w = img.shape[:2]
    scale = min(2048 / max(h, w), 512 / min(h, w))
    new_w, new_h = int(w * float(scale) + 0.5), int(h * float(scale) + 0.5)
    img = cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    ah = int(np.ceil(img.shape[0] / 32)) * 32
    aw = int(np.ceil(img.shape[1] / 32)) * 32
    return cv2.resize(img, (aw, ah), interpolation=cv2.INTER_LINEAR)


def normalize(img_bgr):
    # mmcv.imnormalize(img, mean, std, to_rgb=True)
    img = img_bgr.copy().astype(np.float32)
    mean = np.float64(MEAN.reshape(1, -1))
    stdinv = 1 / np.float64(STD.reshape(1, -1))
    cv2.cvtColor(img, cv2.COLOR_BGR2RGB, img)
    cv2.subtract(img, mean, img)
    cv2.multiply(img, stdinv, img)
    return img


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    import json
    with open(os.path.join(CASE, "config.json")) as f:
        cfg = json.load(f)
    model = sr.build_seg(cfg).double().eval()
    ckpt = torch.load(os.path.join(CASE, "weights.pth"), map_location="cpu")
    model.load_state_dict(ckpt["state_dict"], strict=True)
    for name in ("odd_333x517.jpg", "rgba_97x150.png"):
        bgr = cv2.imread(os.path.join(IMAGES, name), cv2.IMREAD_COLOR)
        h, w = bgr.shape[:2]
        aligned = align_resize(bgr)
        np.save(os.path.join(OUT, name + ".aligned.npy"), np.ascontiguousarray(aligned[:, :, ::-1]))
        x = torch.from_numpy(normalize(aligned)).permute(2, 0, 1)[None].double()
        with torch.no_grad():
            logits = model.encode_decode(x)
            logits = F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)
            cmap = F.softmax(logits, dim=1).argmax(dim=1)[0].numpy().astype(np.uint8)
        np.save(os.path.join(OUT, name + ".class_map.npy"), cmap)
        print("  %s: %dx%d -> aligned %s, classes present %s" % (name, h, w, aligned.shape[:2], sorted(set(cmap.ravel()))))


if __name__ == "__main__":
    main()
