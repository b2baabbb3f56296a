"""The numbers of docs/guide/webtoons.md: the small-sample experiment (400 real panels against 5, 50 and 500
generated ones), the memorisation check and the sanity table of four backbones on webtoon panels.

No webtoon data and no published weights can be downloaded where frechet is developed, so everything here is
stand-in, and the guide says so: the panels are cut by ``frechet webtoon panels`` from episodes that
``examples/make_webtoons.py`` draws. The real panels come from one seed; the "generated" ones from another seed
with every panel blurred (``--blur 1``: a soft generator, a mild step away from the real distribution). The
same episodes drawn sharp (a perfect generator, whose population FD to the real panels is 0) are the sanity
table's ``mix`` panels and, with ``--generators soft,perfect``, a control in the experiment. Every backbone runs with
deterministic random weights in its published layout (the test suite's random-weight helpers), the WD tagger with
1 of its 12 blocks (its 448×448 input makes the whole network too slow for this script on a shared CPU).

    python scripts/webtoon_guide.py [--work DIR] [--sizes 5,50,500] [--generators soft[,perfect]] [--bootstrap 200]
        [--sanity-panels 12] [--backbones inception,dinov2-vits14,clip-vitb32,wd-vit-tagger-v3] [--levels 2]
        [--part small-sample|sanity|render]

Writes bench/results/webtoon_guide.json and the guide's tables beside it (webtoon_guide.md); ``--part render``
only writes the tables again from the results file.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "webtoon_guide.json"
REAL = 400
METRICS = ("fd", "kid", "fd-inf", "fd-ci")
SANITY = ("noise", "jpeg", "line-blur", "colour-shift", "palette", "rescale", "halftone")
BACKBONES = ("inception", "dinov2-vits14", "clip-vitb32", "wd-vit-tagger-v3")
#: Blocks of the tagger's random-weight file (of 12): its 448×448 input makes the whole network the slowest here.
TAGGER_BLOCKS = 1
#: The soft generator's blur (Gaussian σ in px, examples/make_webtoons.py --blur): its shift from the real panels.
SOFT_BLUR = 1.0
#: Items per cache shard: the smallest set size, so each set's features are cached in pieces its larger sets (the
#: same first panels) reuse, and an interrupted run keeps what it embedded.
SHARD = 5


def _module(relative: str) -> Any:
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    sys.path.insert(0, str(path.parent))
    spec.loader.exec_module(module)
    return module


def cut_panels(seed: int, episodes: int, count: int, work: Path, name: str, blur: float = 0.0) -> Path:
    """``count`` panels (PNG) cut by ``frechet webtoon panels`` from ``episodes`` generated episodes (each panel
    blurred with a Gaussian of σ = ``blur`` px when drawn)."""
    source, cut, out = work / f"{name}-episodes", work / f"{name}-cut", work / name
    _module("examples/make_webtoons.py").main([str(source), "--episodes", str(episodes), "--seed", str(seed),
                                               "--blur", str(blur)])
    subprocess.run([sys.executable, "-m", "frechet", "webtoon", "panels", str(source), "-o", str(cut), "--quiet"],
                   check=True)
    files = sorted(cut.rglob("*.png"))
    if len(files) < count:
        raise SystemExit(f"{name}: {len(files)} panels from {episodes} episodes, {count} needed; raise --episodes")
    out.mkdir()
    for index, file in enumerate(files[:count]):
        shutil.copy(file, out / f"{index:04d}.png")
    return out


def subset(folder: Path, count: int, out: Path) -> Path:
    """The first ``count`` panels of ``folder`` copied into ``out`` (made again, the same, on a re-run)."""
    out.mkdir(exist_ok=True)
    for file in sorted(folder.glob("*.png"))[:count]:
        shutil.copy(file, out / file.name)
    return out


def weights(work: Path) -> dict[str, dict[str, str]]:
    """Random-weight files in each backbone's published layout, as ``embedder_options``."""
    import torch
    from frechet_clip.network import VIT_B_32
    from frechet_dinov2.network import ARCHITECTURES as DINO, state_dict_layout as dino_layout
    from frechet_inception.network import state_dict_layout
    from frechet_webtoon.tagger_network import ARCHITECTURES, build_network

    files = {name: work / f"{name}.weights" for name in BACKBONES}
    torch.save(_module("tests/plugins/inception/inception_random_weights.py").random_state_dict(state_dict_layout()),
               files["inception"])
    torch.save(_module("tests/plugins/dinov2/dinov2_random_weights.py").random_state_dict(
        dino_layout(DINO["vits14"])), files["dinov2-vits14"])
    torch.save(_module("tests/plugins/clip/clip_random_weights.py").random_clip_state(VIT_B_32), files["clip-vitb32"])
    fixtures = _module("tests/plugins/webtoon/tagger_fixtures.py")
    with torch.device("meta"):
        shapes = {k: tuple(v.shape) for k, v in build_network(ARCHITECTURES["vit"]).state_dict().items()}
    files["wd-vit-tagger-v3"] = work / "wd-vit-tagger-v3.safetensors"
    shapes = {key: shape for key, shape in shapes.items()
              if not key.startswith("blocks.") or int(key.split(".")[1]) < TAGGER_BLOCKS}
    fixtures.write_safetensors(files["wd-vit-tagger-v3"], fixtures.random_state(shapes, 129))
    return {name: {"weights": str(path)} for name, path in files.items()}


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def small_sample(real: Path, generators: dict[str, Path], sizes: tuple[int, ...], options: dict[str, str],
                 work: Path, bootstrap: int) -> dict:
    """FD, KID, FD∞ and fd-ci (``bootstrap`` half-samples) of 400 real panels against ``sizes`` of each
    generator's panels (Inception)."""
    import frechet

    def scores(fake: Path, metrics: tuple[str, ...]) -> dict[str, Any]:
        extra = {"metric_options": {"fd_ci_bootstrap": bootstrap}} if "fd-ci" in metrics else {}
        result = frechet.compute(str(real), str(fake), metrics=list(metrics), embedder="inception",
                                 embedder_options=options, cache_dir=str(work / "cache"), shard_size=SHARD,
                                 **extra)
        return {key: value for key, value in result.items() if isinstance(value, (int, float))}

    found = {}
    for generator, folder in generators.items():
        for count in sizes:
            fake = subset(folder, count, work / f"{generator}-{count}")
            caught = _Warnings()
            logging.getLogger("frechet").addHandler(caught)
            row: dict[str, Any] = {}
            try:
                row.update(scores(fake, METRICS))
            except Exception:  # noqa: BLE001 - one metric refused this size: each on its own, to say which
                for metric in METRICS:
                    try:
                        row.update(scores(fake, (metric,)))
                    except Exception as error:  # noqa: BLE001 - the refusal is the finding
                        row[f"{metric}_refused"] = str(error)
            logging.getLogger("frechet").removeHandler(caught)
            row["warnings"] = sorted(set(caught.lines))
            found[f"{generator}/{count}"] = row
            print(generator, count, {k: v for k, v in row.items() if k != "warnings"}, flush=True)
    return found


def memorisation(real: Path, fresh: Path, options: dict[str, str], work: Path) -> dict:
    """50 generated panels (45 of ``fresh``) of which 5 are copies of training panels: what the report's
    memorisation check flags."""
    import frechet

    fake = work / "memorising"
    fake.mkdir()
    for file in sorted(fresh.glob("*.png"))[:45]:
        shutil.copy(file, fake / file.name)
    copied = sorted(real.glob("*.png"))[::80][:5]
    for file in copied:
        shutil.copy(file, fake / f"copy-{file.name}")
    page = work / "memorisation.html"
    frechet.write_report(str(real), str(fake), page, embedder="inception", embedder_options=options,
                         metrics=["fd"], cache_dir=str(work / "cache"), shard_size=SHARD)
    text = page.read_text(encoding="utf-8")
    flagged = re.search(r"(\d+) generated items? (?:is|are) closer to a real item", text)
    return {"generated": 50, "copies": [file.name for file in copied],
            "flagged": int(flagged[1]) if flagged else 0}


def sanity_table(real: Path, other: Path, options: dict[str, dict[str, str]], count: int, levels: int,
                 work: Path, backbones: tuple[str, ...] = BACKBONES) -> dict:
    """Spearman's ρ and FD / tr Σ at the strongest level, per backbone and disturbance, on ``count`` panels."""
    import frechet

    panels = subset(real, count, work / f"sanity-{count}")
    mix = subset(other, count, work / f"sanity-other-{count}")
    table = {}
    for backbone in backbones:
        started = time.perf_counter()
        result = frechet.sanity(str(panels), embedder=backbone, embedder_options=options[backbone],
                                disturbances=[*SANITY, f"mix:{mix}"], levels=levels, cache_dir=str(work / "cache"))
        table[backbone] = {"trace": result.trace, "n": result.n, "seconds": round(time.perf_counter() - started),
                           "curves": {curve.name: {"rho": curve.rho, "fd_relative": curve.levels[-1].fd_relative,
                                                   "strength": curve.levels[-1].strength, "blind": curve.blind}
                                      for curve in result.curves}}
        print(backbone, json.dumps(table[backbone]), flush=True)
    return table


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}"


def small_sample_markdown(report: dict) -> str:
    """The guide's table of the small-sample experiment."""
    lines = ["| generator | N | FID | KID ± std | FD∞ | fd-ci: interval (bias-corrected FD) |", "|---|---|---|---|---|---|"]
    for key, row in report["small_sample"].items():
        generator, count = key.split("/")
        kid = f"{_number(row['kid'])} ± {_number(row['kid_std'])}" if "kid" in row else "refused"
        infinity = _number(row["fd_inf"]) if "fd_inf" in row else "refused"
        interval = (f"[{_number(row['fd_ci_low'])}, {_number(row['fd_ci_high'])}] ({_number(row['fd_ci_corrected'])})"
                    if "fd_ci_low" in row else "refused")
        lines.append(f"| {generator} | {count} | {_number(row['fd'])} | {kid} | {infinity} | {interval} |")
    return "\n".join(lines)


def sanity_markdown(report: dict) -> str:
    """The guide's sanity table: ρ and FD / tr Σ at the strongest level, per disturbance and backbone."""
    tables = report["sanity"]
    names = list(next(iter(tables.values()))["curves"])
    lines = ["| disturbance (strongest level) | " + " | ".join(f"`{name}`" for name in tables) + " |",
             "|---|" + "---|" * len(tables)]
    for name in names:
        strength = next(iter(tables.values()))["curves"][name]["strength"]
        cells = []
        for table in tables.values():
            curve = table["curves"][name]
            cell = f"ρ {curve['rho']:.2f}, {_number(curve['fd_relative'])}"
            cells.append(f"**{cell}**" if curve["blind"] else cell)
        lines.append(f"| `{name}` ({strength:g}) | " + " | ".join(cells) + " |")
    lines.append("| tr Σ of the real features | " + " | ".join(_number(table["trace"]) for table in tables.values())
                 + " |")
    return "\n".join(lines)


def markdown(report: dict) -> str:
    """The results file as the page beside it: how it was made, the guide's tables, the memorisation check."""
    panels = report["panels"]
    lines = ["# The webtoon guide's experiment (docs/guide/webtoons.md)", "",
             f"`python scripts/webtoon_guide.py` (results: `webtoon_guide.json`). Panels cut by `frechet webtoon "
             f"panels` from episodes of `examples/make_webtoons.py`: {panels['real']} real panels (seed "
             f"{panels['real_seed']}); generated panels from seed {panels['generated_seed']} with every panel blurred "
             f"(`soft`: `--blur {panels.get('soft_blur', 0):g}`), or drawn as is (`perfect`: the real panels' "
             f"distribution, population FD 0; the sanity table's `mix`). Backbones: {report['weights']}. Stand-in data and "
             "weights: the numbers show how the metrics behave, not how good any backbone is.", ""]
    if "small_sample" in report:
        lines += [f"## Small samples: Inception, fd-ci with {report['fd_ci_bootstrap']} half-samples", "",
                  small_sample_markdown(report), ""]
        check = report["memorisation"]
        lines += [f"Memorisation check: {check['generated']} generated panels holding {len(check['copies'])} copies "
                  f"of real ones; the report flagged {check['flagged']}.", ""]
    if "sanity" in report:
        setup = report["sanity_setup"]
        lines += [f"## Sanity: {setup['panels']} real panels, {setup['levels']} levels", "",
                  "Spearman's ρ (level vs FD) and FD at the strongest level / tr Σ of the real features; bold: "
                  "called out as nearly blind.", "", sanity_markdown(report), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, help="folder for the panels, weights and cache (default: temporary)")
    parser.add_argument("--sizes", default="5,50,500", help="generated set sizes, comma-separated")
    parser.add_argument("--generators", default="soft", help="which generators, comma-separated")
    parser.add_argument("--bootstrap", type=int, default=200, help="fd-ci's half-samples (fd_ci_bootstrap)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"results file (default {OUT.relative_to(ROOT)})")
    parser.add_argument("--sanity-panels", type=int, default=12)
    parser.add_argument("--backbones", default=",".join(BACKBONES), help="sanity backbones, comma-separated")
    parser.add_argument("--levels", type=int, default=2)
    parser.add_argument("--part", choices=("all", "small-sample", "sanity", "render"), default="all",
                        help="run one part (into an existing --work folder and results file), both, or neither "
                             "(render: write the tables from the results file)")
    args = parser.parse_args()
    if args.part == "render":
        args.out.with_suffix(".md").write_text(markdown(json.loads(args.out.read_text(encoding="utf-8"))),
                                               encoding="utf-8")
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="webtoon-guide-"))
    work.mkdir(parents=True, exist_ok=True)
    sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]
    started = time.perf_counter()
    real = work / "real" if (work / "real").is_dir() else cut_panels(1, 70, REAL, work, "real")
    sizes = tuple(int(size) for size in args.sizes.split(","))
    perfect = work / "perfect" if (work / "perfect").is_dir() else cut_panels(2, 90, max(sizes), work, "perfect")
    soft = work / "soft" if (work / "soft").is_dir() else cut_panels(2, 90, max(sizes), work, "soft", SOFT_BLUR)
    options = weights(work)
    report: dict[str, Any] = {}
    report.update({"panels": {"real": REAL, "generated": sizes, "real_seed": 1, "generated_seed": 2,
                              "soft_blur": SOFT_BLUR},
                   "weights": "deterministic random weights in each published layout (see the docstring); the "
                              f"tagger's file holds {TAGGER_BLOCKS} of its 12 blocks"})
    if args.part in ("all", "small-sample"):
        chosen = args.generators.split(",")
        generators = {name: folder for name, folder in (("soft", soft), ("perfect", perfect)) if name in chosen}
        report["small_sample"] = small_sample(real, generators, sizes, options["inception"], work, args.bootstrap)
        report["fd_ci_bootstrap"] = args.bootstrap
        report["memorisation"] = memorisation(real, soft, options["inception"], work)
    if args.part in ("all", "sanity"):
        report["sanity"] = sanity_table(real, perfect, options, args.sanity_panels, args.levels, work,
                                        tuple(args.backbones.split(",")))
        report["sanity_setup"] = {"panels": args.sanity_panels, "levels": args.levels}
    report[f"seconds_{args.part}"] = round(time.perf_counter() - started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {**(json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}), **report}
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    page = markdown(report)
    args.out.with_suffix(".md").write_text(page, encoding="utf-8")
    print(page)


if __name__ == "__main__":
    main()
