"""Source options in the core: a kind declares them, the registry opens each input with the values its kind
declares, an option no input of the run takes is one line with the closest name, and the values are part of the
feature cache's key, also through a disturbed source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import frechet
from frechet.cache import FeatureCache
from frechet.caller import command_line
from frechet.disturbance import DisturbedSource, ItemDisturbance
from frechet.errors import ConfigError, PluginError
from frechet.options import Option, in_range
from frechet.registry import Registry
from frechet.settings import Settings
from frechet.sources import Source
from frechet.stats import FeatureStats


class Rows(Source):
    """Rows of a text file of numbers, scaled by ``scale``; the file's lines are the items."""

    domain = "toy"

    def __init__(self, path: str, scale: float = 1.0) -> None:
        super().__init__(path)
        self.values = [float(line) * scale for line in Path(path).read_text().split()]

    def __len__(self) -> int:
        return len(self.values)

    def load(self, index: int) -> Any:
        return np.array([self.values[index]])

    def item_name(self, index: int) -> str:
        return f"{self.label}:{index + 1}"

    def item_digest(self, index: int) -> str:
        return f"line {index}"  # deliberately blind to the scale: only the source options tell the runs apart


SCALE = Option("scale", in_range(float, lambda value: value > 0, "a number above 0"), 1.0, help="multiplies each row")


@pytest.fixture
def registry() -> Registry:
    registry = Registry()
    registry.add_source("rows", Rows, domain="toy", suffixes=(".rows",), description="numbers", options=(SCALE,))
    registry.add_source("plain", lambda path: Rows(path), domain="toy", suffixes=(".txt",), description="numbers")
    return registry


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"rows": tmp_path / "a.rows", "plain": tmp_path / "b.txt"}
    for path in paths.values():
        path.write_text("1\n2\n3\n")
    return paths


def test_each_input_is_opened_with_the_options_its_kind_declares(registry, files):
    scaled = registry.open_source(files["rows"], "toy", {"scale": "2.5"})
    assert scaled.values == [2.5, 5.0, 7.5] and scaled.source_options == {"scale": 2.5}
    assert registry.open_source(files["rows"], "toy").source_options == {"scale": 1.0}  # the declared default
    plain = registry.open_source(files["plain"], "toy", {"scale": "2.5"})  # not its option: not given to it
    assert plain.values == [1.0, 2.0, 3.0] and plain.source_options == {}


def test_an_option_no_input_takes_is_one_line_with_the_closest_name(registry, files):
    registry.check_source_options([files["rows"], files["plain"]], "toy", {"scale": 2})
    with pytest.raises(ConfigError, match=r"^source_options=\{'scal': 2\}: no input of this run takes source option "
                                          r"'scal' \(did you mean 'scale'\?\) \(its inputs are read as rows, plain; "
                                          r"they take scale\)"):
        registry.check_source_options([files["rows"], files["plain"]], "toy", {"scal": 2})
    with command_line(), pytest.raises(ConfigError, match=r"^--source-option scale=2: no input .* \(its inputs are "
                                                          r"read as plain; they take no source options\); it is an "
                                                          r"option of rows inputs; `frechet sources`"):
        registry.check_source_options([files["plain"]], "toy", {"scale": 2})


def test_a_bad_value_names_the_option_and_what_it_takes(registry, files):
    with command_line(), pytest.raises(ConfigError, match=r"^'rows' inputs: --source-option scale=-1 is not valid "
                                                          r"\(out of range; scale is a number above 0\)$"):
        registry.open_source(files["rows"], "toy", {"scale": "-1"})
    with pytest.raises(ConfigError, match=r"source_options=\{'scale': 'x'\} is not valid \(not a number"):
        registry.open_source(files["rows"], "toy", {"scale": "x"})
    with pytest.raises(ConfigError, match="source_options=.* must be a mapping"):
        Settings(source_options=["scale=2"])


def test_declarations_are_checked_when_a_kind_registers(registry):
    for options in ((SCALE, SCALE), ("scale",), (Option("a.b"),)):
        with pytest.raises(PluginError, match="options must be frechet.options.Option objects with distinct names"):
            registry.add_source("bad", Rows, domain="toy", description="x", options=options)
    with pytest.raises(PluginError, match="register it with named_only=True"):
        registry.add_source("sets", Rows, domain="toy", description="x", names=("train",))


class Shift(ItemDisturbance):
    name, domain, unit = "shift", "toy", "units"

    def strength(self, t: float) -> float:
        return t

    def apply(self, item: Any, strength: float, seed: int) -> Any:
        return item + strength


def test_the_options_are_part_of_every_cache_key_also_of_disturbed_items(registry, files, tmp_path):
    cache = FeatureCache(tmp_path / "cache")
    sources = [registry.open_source(files["rows"], "toy", {"scale": scale}) for scale in (1, 1, 2)]
    keys = [cache.shard_keys(source, ["toy"], [(0, 3)])["toy"] for source in sources]
    assert keys[0] == keys[1] != keys[2]
    disturbed = [DisturbedSource(source, Shift(), 0.5, 0) for source in sources]
    keys = [cache.shard_keys(source, ["toy"], [(0, 3)])["toy"] for source in disturbed]
    assert keys[0] == keys[1] != keys[2]


def test_statistics_alone_take_no_source_options(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        FeatureStats.from_features(rng.normal(size=(8, 3))).save(tmp_path / f"{name}.npz")
    with pytest.raises(ConfigError, match=r"no input of this run takes source option 'min_gutter' \(its inputs are "
                                          r"read as none; they take no source options\); it is an option of webtoon"):
        frechet.compute(tmp_path / "a.npz", tmp_path / "b.npz", source_options={"min_gutter": 12})
