"""The report screenshots in the docs: `frechet report` on the example images, rendered by headless Chromium.

    python -c "import torch; from frechet_webtoon_example import PanelNet; torch.manual_seed(0); \
               torch.save(PanelNet(64).state_dict(), 'panelnet.pth')"
    python scripts/report_screenshot.py --embedder webtoon-panels --weights panelnet.pth

(the docs' screenshots: the example plugin, `pip install ./plugins/frechet-webtoon-example`, with that random
checkpoint). Writes docs/images/report-top.png (header, warnings, metrics, plots) and
docs/images/report-galleries.png (the galleries), quantised to 256 colours to stay small, and keeps the page itself
at --html (default: a temporary file). Chromium is driven by the test suite's DevTools client
(tests/report/chromium.py).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from pathlib import Path

from PIL import Image

import frechet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "report"))
from chromium import Chromium, find_chromium  # noqa: E402 (the test suite's client, found on its path)

WIDTH = 1100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="inception", help="the embedder (default inception)")
    parser.add_argument("--weights", type=Path, help="its weights file (default: the canonical download)")
    parser.add_argument("--html", type=Path, help="where to keep the report page")
    args = parser.parse_args()
    page = (args.html or Path(tempfile.mkdtemp()) / "report.html").resolve()
    options = {"weights": str(args.weights.resolve())} if args.weights else {}
    weights = f" --weights {args.weights.name}" if args.weights else ""
    os.chdir(ROOT)  # the page names the inputs as the command line would
    frechet.write_report("examples/images/real", "examples/images/fake", page, embedder=args.embedder,
                         embedder_options=options, sanity="noise,blur,swirl", sanity_levels=4, progress=False,
                         command=f"frechet report examples/images/real examples/images/fake --embedder {args.embedder}"
                                 f"{weights} --sanity noise,blur,swirl --sanity-levels 4")
    binary = find_chromium()
    if binary is None:
        raise SystemExit("no Chromium found: apt-get install chromium")
    with Chromium(binary, width=WIDTH) as chromium:
        visit = chromium.visit(page, screenshot=True)
    full = Image.open(io.BytesIO(visit.screenshot)).convert("RGB")
    galleries, sanity = (int(visit.headings[name]) - 8 for name in ("Galleries", "Sanity curves"))
    _save(full.crop((0, 0, full.width, galleries)), ROOT / "docs/images/report-top.png")
    _save(full.crop((0, galleries, full.width, sanity)), ROOT / "docs/images/report-galleries.png")
    print(f"report page: {page}")


def _save(image: Image.Image, path: Path) -> None:
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print(f"{path}: {image.width}x{image.height}, {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
