"""Write webtoon-like episodes with their true panel boundaries: a stand-in for webtoon data, which frechet cannot
ship or download.

Each episode is a folder of JPEG slices (``1.jpg``, ``2.jpg``, … ``10.jpg``: natural order, the way webtoon viewers
deliver a chapter) that stitch top to bottom into one strip of a fixed width. The strip holds panels separated by
gutters of the episode's background colour (white, black or a flat colour): drawn panels (line art, flat colours,
screen tones, speech balloons with text), bordered panels with blank interiors, scroll-length panels, and speech
balloons that cross a gutter (which joins the two panels it touches into one). Slices are cut at random heights, so
they split panels.

``truth.json`` at the top of the output folder lists, per episode, each panel's first and last row in the stitched
strip (rows from 0 at the top of the first slice, the panel's drawn rows without its gutters), its kind, and the
episode's width, height, gutter colour and JPEG quality. Deterministic: the same seed writes the same files.

``--blur SIGMA`` draws the same episodes as a weak generator would: every panel is blurred with a Gaussian of SIGMA
px before it is placed in the strip (softer line art, screen tones and text; balloons that cross a gutter stay
sharp), so its panels come from a distribution a mild, known step away from the unblurred one's. Gutters, panel
rows and the random draws are unchanged: ``truth.json`` holds for both.

    python examples/make_webtoons.py OUT [--episodes 4] [--seed 0] [--width 320] [--quality 60-95] [--blur 0]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

GUTTER_COLOURS = {"white": (255, 255, 255), "black": (0, 0, 0)}
WORDS = ("WAIT", "what?!", "no way", "HEY", "...", "run!", "I knew it", "again?", "okay", "THUD", "so", "mine")


@dataclass
class Panel:
    """One true panel: its first and last drawn row in the stitched strip, and what kind of panel it is."""

    top: int
    bottom: int
    kind: str


@dataclass
class Episode:
    """A stitched strip (H, W, 3) uint8, its true panels, and the heights at which it is sliced."""

    strip: np.ndarray
    panels: list[Panel]
    gutter: tuple[int, int, int]
    slice_rows: list[int] = field(default_factory=list)


def _ink_for(gutter: tuple[int, int, int]) -> tuple[int, int, int]:
    """Line-art colour: black, or white on a dark gutter so that frames stay visible."""
    return (255, 255, 255) if sum(gutter) < 200 else (0, 0, 0)


def _far_colour(rng: np.random.Generator, avoid: tuple[int, int, int], distance: int = 90) -> tuple[int, int, int]:
    """A flat colour at least ``distance`` levels away from ``avoid`` in some channel."""
    while True:
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if max(abs(a - b) for a, b in zip(colour, avoid)) >= distance:
            return colour


def _screen_tone(image: Image.Image, box: tuple[int, int, int, int], rng: np.random.Generator) -> None:
    """Halftone dots (a screen tone) over ``box``."""
    x0, y0, x1, y1 = box
    pitch, radius = int(rng.integers(4, 8)), float(rng.uniform(0.8, 1.8))
    yy, xx = np.mgrid[y0:y1, x0:x1]
    dots = ((yy % pitch - pitch / 2) ** 2 + (xx % pitch - pitch / 2) ** 2) <= radius**2
    pixels = np.asarray(image).copy()
    tone = rng.integers(40, 160)
    pixels[y0:y1, x0:x1][dots] = tone
    image.paste(Image.fromarray(pixels))


def _balloon(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], ink: tuple[int, int, int],
             rng: np.random.Generator, font: ImageFont.ImageFont) -> None:
    """A white speech balloon with an ink outline and a word or two of text."""
    draw.ellipse(box, fill=(255, 255, 255), outline=(0, 0, 0) if ink == (255, 255, 255) else ink, width=2)
    x0, y0, x1, y1 = box
    text = str(rng.choice(WORDS))
    draw.text(((x0 + x1) // 2, (y0 + y1) // 2), text, fill=(0, 0, 0), font=font, anchor="mm")


def _art_panel(width: int, height: int, gutter: tuple[int, int, int], rng: np.random.Generator,
               font: ImageFont.ImageFont) -> Image.Image:
    """A drawn panel: a flat background far from the gutter colour, flat-coloured shapes with line art, a screen
    tone patch and a speech balloon."""
    ink = (0, 0, 0)
    image = Image.new("RGB", (width, height), _far_colour(rng, gutter))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 8))):
        x0, y0 = int(rng.integers(0, width - 8)), int(rng.integers(0, height - 8))
        x1 = x0 + int(rng.integers(8, max(9, width // 2)))
        y1 = y0 + int(rng.integers(8, max(9, height // 2)))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x1, y1), fill=tuple(int(c) for c in rng.integers(0, 256, 3)), outline=ink, width=2)
    for _ in range(int(rng.integers(2, 6))):  # loose line art
        points = [(int(rng.integers(0, width)), int(rng.integers(0, height))) for _ in range(4)]
        draw.line(points, fill=ink, width=int(rng.integers(1, 4)))
    if rng.random() < 0.6:
        tx, ty = int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2))
        _screen_tone(image, (tx, ty, tx + width // 2, ty + height // 2), rng)
        draw = ImageDraw.Draw(image)
    if rng.random() < 0.7 and height > 60:
        bw, bh = int(width * rng.uniform(0.25, 0.45)), int(rng.integers(30, min(80, height - 10)))
        bx, by = int(rng.integers(0, width - bw)), int(rng.integers(0, height - bh))
        _balloon(draw, (bx, by, bx + bw, by + bh), ink, rng, font)
    return image


def _bordered_panel(width: int, height: int, gutter: tuple[int, int, int], rng: np.random.Generator,
                    font: ImageFont.ImageFont) -> Image.Image:
    """A frame of ink around an interior of the gutter's own colour, blank or with one small balloon: a cutter
    that only looks for background-coloured rows would cut it in two."""
    image = Image.new("RGB", (width, height), gutter)
    draw = ImageDraw.Draw(image)
    border = int(rng.integers(2, 6))
    draw.rectangle((0, 0, width - 1, height - 1), outline=_ink_for(gutter), width=border)
    if rng.random() < 0.4 and height > 100:
        bw, bh = width // 3, 40
        _balloon(draw, (width // 3, height // 2 - 20, width // 3 + bw, height // 2 - 20 + bh),
                 _ink_for(gutter), rng, font)
    return image


def _scroll_panel(width: int, height: int, gutter: tuple[int, int, int], rng: np.random.Generator) -> Image.Image:
    """A scroll-length panel: a vertical gradient between two colours far from the gutter, with scattered shapes."""
    top, bottom = np.array(_far_colour(rng, gutter)), np.array(_far_colour(rng, gutter))
    ramp = np.linspace(0.0, 1.0, height)[:, None, None]
    pixels = (top * (1 - ramp) + bottom * ramp).repeat(width, axis=1)
    far_enough = np.abs(pixels - np.array(gutter)).max(axis=2) >= 60
    pixels[~far_enough] = (np.array(gutter) + 128) % 256  # keep every row away from the gutter colour
    image = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(height // 120) + 1):
        x, y = int(rng.integers(0, width - 20)), int(rng.integers(0, height - 20))
        draw.ellipse((x, y, x + int(rng.integers(10, 40)), y + int(rng.integers(10, 40))), outline=(0, 0, 0),
                     width=2)
    return image


def make_episode(rng: np.random.Generator, *, width: int = 320, panels: tuple[int, int] = (5, 9),
                 slice_height: tuple[int, int] = (200, 600), blur: float = 0.0) -> Episode:
    """Draw one episode's strip and choose its true panels and slice heights; ``blur`` > 0 blurs each panel with a
    Gaussian of that σ in px (the draws, and so the layout, are the same as without it)."""
    font = ImageFont.load_default()
    pick = rng.random()
    gutter_name = "white" if pick < 0.5 else "black" if pick < 0.75 else "colour"
    gutter = GUTTER_COLOURS.get(gutter_name) or tuple(int(c) for c in rng.integers(40, 216, 3))
    parts: list[tuple[str, Image.Image, int]] = []  # (kind, panel image, x offset)
    for _ in range(int(rng.integers(*panels))):
        kind = str(rng.choice(["art", "art", "art", "bordered", "scroll"], p=[0.3, 0.2, 0.15, 0.2, 0.15]))
        inset = int(rng.integers(0, width // 8)) if rng.random() < 0.5 else 0
        panel_width = width - 2 * inset
        if kind == "scroll":
            image = _scroll_panel(panel_width, int(panel_width * rng.uniform(3.0, 6.0)), gutter, rng)
        elif kind == "bordered":
            image = _bordered_panel(panel_width, int(rng.integers(120, 420)), gutter, rng, font)
        else:
            image = _art_panel(panel_width, int(rng.integers(90, 420)), gutter, rng, font)
        if blur > 0:
            image = image.filter(ImageFilter.GaussianBlur(blur))
        parts.append((kind, image, inset))
    crossing = [rng.random() < 0.25 for _ in parts[:-1]]  # a balloon joins panel i and i+1
    gutters = [int(rng.integers(24, 60)) if cross else int(rng.integers(24, 160)) for cross in crossing]
    margin_top, margin_bottom = (int(rng.integers(24, 80)) if rng.random() < 0.8 else 0 for _ in range(2))
    height = margin_top + margin_bottom + sum(img.height for _, img, _ in parts) + sum(gutters)
    strip = Image.new("RGB", (width, height), gutter)
    draw = ImageDraw.Draw(strip)
    spans, y = [], margin_top
    for index, (kind, image, inset) in enumerate(parts):
        strip.paste(image, (inset, y))
        spans.append([y, y + image.height - 1, kind])
        y += image.height + (gutters[index] if index < len(gutters) else 0)
    for index, cross in enumerate(crossing):
        if cross:  # a balloon reaching 10-30 px into the panels above and below this gutter
            above, below = spans[index][1], spans[index + 1][0]
            reach = int(rng.integers(10, 31))
            bw = int(width * rng.uniform(0.3, 0.5))
            bx = int(rng.integers(0, width - bw))
            _balloon(draw, (bx, above - reach, bx + bw, below + reach), _ink_for(gutter), rng, font)
    truth: list[Panel] = []
    for index, (top, bottom, kind) in enumerate(spans):
        if index > 0 and crossing[index - 1]:
            truth[-1] = Panel(truth[-1].top, bottom, "joined")
        else:
            truth.append(Panel(top, bottom, kind))
    cuts, y = [], 0
    while True:
        y += int(rng.integers(*slice_height))
        if y >= height:
            break
        cuts.append(y)
    return Episode(np.asarray(strip), truth, gutter, cuts)


def write_episode(episode: Episode, folder: Path, *, quality: int) -> None:
    """Save the strip as JPEG slices ``1.jpg`` … ``N.jpg`` in ``folder`` (quality 0 writes lossless PNG)."""
    folder.mkdir(parents=True, exist_ok=True)
    edges = [0, *episode.slice_rows, episode.strip.shape[0]]
    for number, (start, stop) in enumerate(zip(edges[:-1], edges[1:]), start=1):
        image = Image.fromarray(episode.strip[start:stop])
        if quality:
            image.save(folder / f"{number}.jpg", quality=quality)
        else:
            image.save(folder / f"{number}.png")


def parse_range(text: str) -> tuple[int, int]:
    """'60-95' -> (60, 95); '80' -> (80, 80)."""
    low, _, high = text.partition("-")
    return int(low), int(high or low)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write episode-NN/ folders and truth.json into")
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--quality", default="60-95", help="JPEG quality, or a range drawn per episode; 0: PNG")
    parser.add_argument("--blur", type=float, default=0.0,
                        help="Gaussian σ in px applied to every panel (a weak generator's soft drawing); 0: none")
    args = parser.parse_args(argv)
    if not args.blur >= 0:
        parser.error(f"--blur {args.blur}: give a σ in px of 0 or more")
    low, high = parse_range(args.quality)
    rng = np.random.default_rng(args.seed)
    truth = {}
    for number in range(args.episodes):
        episode = make_episode(rng, width=args.width, blur=args.blur)
        quality = int(rng.integers(low, high + 1))
        name = f"episode-{number + 1:02d}"
        write_episode(episode, args.out / name, quality=quality)
        truth[name] = {
            "width": args.width, "height": int(episode.strip.shape[0]), "gutter": list(episode.gutter),
            "quality": quality, "slices": len(episode.slice_rows) + 1, "blur": args.blur,
            "panels": [{"top": p.top, "bottom": p.bottom, "kind": p.kind} for p in episode.panels],
        }
    (args.out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")


if __name__ == "__main__":
    main()
