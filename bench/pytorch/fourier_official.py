"""The numeric part of the official Fourier analysis (github.com/wofmanaf/ResT, fourier_analysis.py, commit
dda7009 "codes for Fig.3", Apache License 2.0, Copyright (c) VCU, Nanjing University), verbatim but for the
plotting: fourier() and shift() as written there, and the loop of plot() that turns the latents into the
relative log amplitudes it draws. The official script imports matplotlib, torchvision, tqdm and a model file
(models/fft_rest_v2.py) that the repository does not contain; those are not needed for the numbers.
"""
import math

import torch


def fourier(x):  # 2D Fourier transform
    f = torch.fft.fft2(x)
    f = f.abs() + 1e-6
    f = f.log()
    return f


def shift(x):  # shift Fourier transformed feature map
    b, c, h, w = x.shape
    return torch.roll(x, shifts=(int(h / 2), int(w / 2)), dims=(2, 3))


def fourier_latents(latents):
    """plot()'s numbers: latents is the list of hidden feature maps (one per block)."""
    fourier_latents = []
    for latent in latents:
        if len(latent.shape) == 3:  # for vit
            b, n, c = latent.shape
            h, w = int(math.sqrt(n)), int(math.sqrt(n))
            latent = latent.permute(0, 2, 1).reshape(b, c, h, w)
        elif len(latent.shape) == 4:  # for cnn
            b, c, h, w = latent.shape
        else:
            raise Exception("shape: %s" % str(latent.shape))
        latent = fourier(latent)
        latent = shift(latent).mean(dim=(0, 1))
        latent = latent.diag()[int(h / 2):]  # only use the half-diagonal components
        latent = latent - latent[0]  # visualize 'relative' log amplitudes (i.e., low_freq - high_freq)
        fourier_latents.append(latent)
    return fourier_latents
