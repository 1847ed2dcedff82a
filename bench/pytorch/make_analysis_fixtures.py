"""Writes the fixture of `rest-tf analyze fourier` / `analyze cka`: the official Fourier analysis and a
linear-CKA reference run on one model and batch.

    /usr/bin/python3 bench/pytorch/make_analysis_fixtures.py [--out converters/src/test/resources/io/resttf/design/analysis]

The model: a narrow ResTv2 (embed_dims [8, 16, 24, 32], heads [1, 2, 4, 8], depths [2, 2, 2, 2], 10 classes),
weights drawn as the design-space parity cases (design_reference.randomise, seed 32000), run in float64 on
the float32-rounded weights by design_reference.py (the official modules), on 4 inputs of 128x128 (N(0, 1),
square as the official script's ViT branch needs). Per block, the three feature maps the official script
plots (feats[j]["attn"], ["up"], ["com"]; its models/fft_rest_v2.py is not in the repository, so they are
read as what its names say: the attention branch (attn @ v, heads merged), the upsample branch (up_norm of
the upsampled values) and their sum, i.e. what enters proj) as [B, N, C] tokens, go through
fourier_official.fourier_latents (the official fourier() / shift() / plot() arithmetic).
Linear CKA: per block, X = attention branch and Y = upsample branch as [B*N, C] (tokens of all images as
samples), centred over samples, ||X^T Y||_F^2 / (||X^T X||_F ||Y^T Y||_F), in float64.

Files: config.json, weights.pth (state_dict, float32), input.npy (NCHW float32), fourier.json
({"attn"|"up"|"sum": {block: [relative log amplitudes]}}), cka.json ({block: value}).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import design_reference as dr  # noqa: E402
import fourier_official as fo  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_OUT = os.path.join(REPO, "converters", "src", "test", "resources", "io", "resttf", "design", "analysis")
CONFIG = dict(family="v2", embed_dims=[8, 16, 24, 32], num_heads=[1, 2, 4, 8], depths=[2, 2, 2, 2],
              sr_ratios=[8, 4, 2, 1], mlp_ratios=[4, 4, 4, 4], num_classes=10, in_chans=3, layer_norm_eps=1e-6)
SEED = 32000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    model = dr.DesignModel(CONFIG).eval()
    dr.randomise(model, SEED)
    sd = {k: v.detach().clone().float().contiguous() for k, v in model.state_dict_official().items()}
    torch.save(sd, os.path.join(a.out, "weights.pth"))
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(dict(CONFIG, name="analysis", seed=SEED), f, indent=2)
        f.write("\n")
    x = torch.randn((4, 3, 128, 128), generator=torch.Generator().manual_seed(4444))
    np.save(os.path.join(a.out, "input.npy"), x.numpy())
    ref = dr.DesignModel(CONFIG).double().eval()
    ref.load_official({k: v.double() if v.is_floating_point() else v for k, v in sd.items()})
    names, attn, up, com = [], [], [], []
    with torch.no_grad():
        ref(x.double())
        for name, blk in ref.blocks():
            o, u, s = blk.attn.branches
            names.append(name)
            attn.append(o)
            up.append(u)
            com.append(s)
    fourier = {}
    for key, latents in (("attn", attn), ("up", up), ("sum", com)):
        fourier[key] = {n: v.tolist() for n, v in zip(names, fo.fourier_latents(latents))}
    cka = {}
    for n, o, u in zip(names, attn, up):
        X = o.reshape(-1, o.shape[-1]).numpy()
        Y = u.reshape(-1, u.shape[-1]).numpy()
        X = X - X.mean(0)
        Y = Y - Y.mean(0)
        cka[n] = float(np.linalg.norm(X.T @ Y) ** 2 / (np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y)))
    with open(os.path.join(a.out, "fourier.json"), "w") as f:
        json.dump(fourier, f, indent=1)
    with open(os.path.join(a.out, "cka.json"), "w") as f:
        json.dump(cka, f, indent=1)
    print("wrote", a.out, {k: len(v) for k, v in fourier.items()}, cka)


if __name__ == "__main__":
    main()
