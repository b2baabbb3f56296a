"""Benchmark: how exactly the webtoon cutter finds panels, on generated episodes whose panels are known
(examples/make_webtoons.py) from seeds that neither the cutter's settings nor the tests were tuned on.

    python bench/webtoon_cutting.py [--episodes 60] [--seed 2026] [--out bench/results/webtoon_cutting]

Each episode's panels (first and last row in the stitched strip) are compared with the truth in order: a panel
lost (two true panels found as one) or split (one found as two) shows as a different count; otherwise each
boundary's error in rows is recorded. The bar: every boundary within 2 rows, 4 rows at JPEG quality below 85.
Episodes are drawn at three widths (240, 480, 720 px) with JPEG quality 60-95, and a tenth as lossless PNG.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "plugins" / "webtoon"))
from harness import publish  # noqa: E402
from webtoon_helpers import TEST_SEED, load_generator  # noqa: E402

from frechet_webtoon.episodes import find_episodes  # noqa: E402
from frechet_webtoon.source import cut_episode  # noqa: E402

#: Seeds the cutter's settings were chosen on (examples/make_webtoons.py --seed), besides the tests' own.
TUNING_SEEDS = (1, 5)
WIDTHS = (240, 480, 720)


def run(episodes: int, seed: int) -> dict:
    if seed in (*TUNING_SEEDS, TEST_SEED):
        raise SystemExit(f"seed {seed} was used for tuning or by the tests; choose another")
    generator = load_generator()
    rng = np.random.default_rng(seed)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for number in range(episodes):
            width = WIDTHS[number % len(WIDTHS)]
            episode = generator.make_episode(rng, width=width, slice_height=(width, 3 * width))
            quality = 0 if number % 10 == 9 else int(rng.integers(60, 96))
            folder = Path(work) / f"episode-{number:03d}"
            generator.write_episode(episode, folder, quality=quality)
            [found] = find_episodes(folder)
            panels = cut_episode(found).cut.panels
            truth = [(panel.top, panel.bottom) for panel in episode.panels]
            errors = (np.abs(np.array(panels) - np.array(truth)).ravel().tolist()
                      if len(panels) == len(truth) else None)
            rows.append({"episode": folder.name, "width": width, "height": int(episode.strip.shape[0]),
                         "quality": quality, "slices": len(episode.slice_rows) + 1, "gutter": list(episode.gutter),
                         "kinds": dict(Counter(panel.kind for panel in episode.panels)), "panels": len(truth),
                         "errors": errors})
    return {"seed": seed, "episodes": rows, "python": platform.python_version()}


def _limit(quality: int) -> int:
    return 2 if quality == 0 or quality >= 85 else 4


def report(results: dict) -> str:
    rows = results["episodes"]
    miscounted = [row["episode"] for row in rows if row["errors"] is None]
    over = [row["episode"] for row in rows if row["errors"] and max(row["errors"]) > _limit(row["quality"])]
    kinds = Counter()
    for row in rows:
        kinds.update(row["kinds"])
    lines = [
        "# Webtoon panel cutting: accuracy on generated episodes",
        "",
        f"`python bench/webtoon_cutting.py --episodes {len(rows)} --seed {results['seed']}`: episodes from "
        "examples/make_webtoons.py (a seed neither the cutter's settings nor the tests were tuned on), widths "
        f"{', '.join(map(str, WIDTHS))} px, JPEG quality 60-95 (every tenth episode lossless PNG), slices "
        "1-3 widths tall cutting across panels. The bar: every boundary within 2 rows (4 at quality below 85), "
        "no panel lost or split.",
        "",
        f"- episodes: {len(rows)}; true panels: {sum(row['panels'] for row in rows)} "
        f"({', '.join(f'{kind} {count}' for kind, count in sorted(kinds.items()))}; 'joined' = two drawn panels "
        "joined by a balloon across their gutter, one panel to find)",
        f"- gutters: {sum(row['gutter'] == [255, 255, 255] for row in rows)} white, "
        f"{sum(row['gutter'] == [0, 0, 0] for row in rows)} black, "
        f"{sum(row['gutter'] not in ([255, 255, 255], [0, 0, 0]) for row in rows)} coloured",
        f"- episodes with a panel lost or split: {len(miscounted)} {miscounted or ''}",
        f"- episodes with a boundary beyond the bar: {len(over)} {over or ''}",
        "",
        "| JPEG quality | episodes | boundaries | exact | ≤ 1 row | ≤ 2 rows | ≤ 4 rows | largest error (rows) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    bands = (("PNG (lossless)", lambda q: q == 0), ("85-95", lambda q: q >= 85), ("60-84", lambda q: 0 < q < 85))
    for name, chosen in bands:
        picked = [row for row in rows if chosen(row["quality"]) and row["errors"] is not None]
        errors = np.array([error for row in picked for error in row["errors"]])
        if not len(errors):
            continue
        share = [f"{np.mean(errors <= limit):.1%}" for limit in (0, 1, 2, 4)]
        lines.append(f"| {name} | {len(picked)} | {len(errors)} | {' | '.join(share)} | {errors.max()} |")
    lines += ["", f"Python {results['python']}; per-episode panel counts and boundary errors in the .json beside this file.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=60)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    args = parser.parse_args()
    results = run(args.episodes, args.seed)
    publish(report(results), results, args.out)


if __name__ == "__main__":
    main()
