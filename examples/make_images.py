"""Write the small demo image sets used by README's main command: examples/images/{real,fake}/*.jpg.

"real" holds crisp shapes on smooth gradients; "fake" the same kind of scenes, blurred and with noise — a gap that
FID should see. Deterministic: re-running writes the same files.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent / "images"
COUNT, SIZE = 24, 128


def scene(rng: np.random.Generator) -> Image.Image:
    """A gradient background with a few random ellipses and rectangles."""
    top, bottom = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    ramp = np.linspace(0, 1, SIZE)[:, None, None]
    background = (top * (1 - ramp) + bottom * ramp).repeat(SIZE, axis=1).astype(np.uint8)
    image = Image.fromarray(background)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.integers(2, 6)):
        x0, y0 = rng.integers(0, SIZE - 20, 2)
        x1, y1 = x0 + rng.integers(10, 60), y0 + rng.integers(10, 60)
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((int(x0), int(y0), int(x1), int(y1)), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    return image


def degrade(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Blur and add noise, as a weak generator might."""
    blurred = np.asarray(image.filter(ImageFilter.GaussianBlur(2.0)), dtype=np.float64)
    noisy = blurred + rng.normal(0, 18, blurred.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def main() -> None:
    for name, seed in (("real", 1), ("fake", 2)):
        folder = ROOT / name
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(seed)
        for index in range(COUNT):
            image = scene(rng)
            if name == "fake":
                image = degrade(image, rng)
            image.save(folder / f"{name}_{index:02d}.jpg", quality=90)


if __name__ == "__main__":
    main()
