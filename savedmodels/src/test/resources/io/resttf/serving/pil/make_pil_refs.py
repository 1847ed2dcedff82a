"""Makes the PIL references of PreprocessingParityTest (run once with Debian's python3-pil; no numpy, no torch).

For each source image: PIL open -> convert('RGB') -> the official evaluation transform as torchvision
applies it to PIL images: Resize(256, BICUBIC) (shorter side 256, longer int(256 * long / short)),
CenterCrop(224) (offsets int(round((resized - 224) / 2.0)), Python's half-to-even round). The crop is
saved as PNG (uint8, before ToTensor / Normalize, which the test applies in float32).
"""
import math
import random
import sys
from PIL import Image, ImageDraw

RESIZE, CROP = 256, 224


def synthetic(w, h, seed):
    rnd = random.Random(seed)
    img = Image.new("RGB", (w, h))
    px = img.load()
    for y in range(h):
        for x in range(w):
            r = int(127 + 120 * math.sin(x / 17.0 + y / 41.0))
            g = int(127 + 120 * math.cos(y / 13.0 - x / 29.0))
            b = (x * 3 + y * 5) % 256
            n = rnd.randint(-12, 12)
            px[x, y] = (max(0, min(255, r + n)), max(0, min(255, g - n)), max(0, min(255, b + n)))
    d = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = rnd.randrange(w), rnd.randrange(h)
        x1, y1 = x0 + rnd.randrange(5, w // 2), y0 + rnd.randrange(5, h // 2)
        d.rectangle([x0, y0, x1, y1], fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
        d.line([rnd.randrange(w), rnd.randrange(h), rnd.randrange(w), rnd.randrange(h)], fill=(255, 255, 255), width=2)
    return img


def official(img):
    img = img.convert("RGB")
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = RESIZE, int(RESIZE * long / short)
    nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
    img = img.resize((nw, nh), Image.BICUBIC)
    top = int(round((nh - CROP) / 2.0))
    left = int(round((nw - CROP) / 2.0))
    return img.crop((left, top, left + CROP, top + CROP))


def main(out):
    rgb = synthetic(333, 517, 1)
    rgb.save(f"{out}/odd_333x517.png")
    rgb.save(f"{out}/odd_333x517.jpg", quality=90)
    gray = synthetic(150, 97, 2).convert("L")
    gray.save(f"{out}/gray_150x97.png")
    rgba = synthetic(97, 150, 3).convert("RGBA")
    a = rgba.load()
    for y in range(150):
        for x in range(97):
            r, g, b, _ = a[x, y]
            a[x, y] = (r, g, b, (x * 7 + y) % 256)
    rgba.save(f"{out}/rgba_97x150.png")
    for name in ["odd_333x517.png", "odd_333x517.jpg", "gray_150x97.png", "rgba_97x150.png"]:
        official(Image.open(f"{out}/{name}")).save(f"{out}/{name.rsplit('.', 1)[0]}_{name.rsplit('.', 1)[1]}.ref.png")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
