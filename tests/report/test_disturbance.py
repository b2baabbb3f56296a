"""The Disturbance contract: disturbed copies keep their items' identity, mixing replaces an exact fraction, and
the registry builds disturbances by name with one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from frechet.disturbance import DisturbedSource, ItemDisturbance, MixedSource, content_rng
from frechet.errors import ConfigError
from frechet.plugins import get_registry
from frechet.sources import Source


class Numbers(Source):
    """Item i is the array [offset + i]; its digest says so."""

    domain = "features"

    def __init__(self, count: int, offset: int = 0) -> None:
        super().__init__(f"numbers+{offset}")
        self.count, self.offset = count, offset

    def __len__(self) -> int:
        return self.count

    def load(self, index: int) -> np.ndarray:
        return np.array([float(self.offset + index)])

    def item_name(self, index: int) -> str:
        return f"n{self.offset + index}"

    def item_digest(self, index: int) -> str:
        return f"number:{self.offset + index}"


class Shift(ItemDisturbance):
    name, domain, unit = "shift", "features", "added value"

    def strength(self, t: float) -> float:
        return t

    def apply(self, item, strength, seed):
        return item + strength + content_rng(seed, strength, item).uniform(0, 1e-3)


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.25, 0.5, 0.7, 1.0])
def test_mixing_replaces_exactly_the_stated_fraction_of_items(fraction):
    mixed = MixedSource(Numbers(40), Numbers(15, offset=1000), fraction, seed=3)
    values = [float(mixed.load(index)[0]) for index in range(len(mixed))]
    replaced = [value for value in values if value >= 1000]
    assert len(replaced) == round(fraction * 40)
    assert len(set(replaced)) == min(len(replaced), 15)  # the other input's items are drawn without replacement first
    assert [mixed.item_digest(i) for i in range(40)] == [f"number:{int(v)}" for v in values]  # identity follows


def test_mixing_more_replaces_a_superset_with_the_same_seed():
    weak, strong = (MixedSource(Numbers(40), Numbers(40, offset=1000), f, seed=5) for f in (0.2, 0.4))
    assert set(weak.replaced) < set(strong.replaced)


def test_a_disturbed_source_keeps_identity_and_names_the_damage_in_its_config():
    inner = Numbers(3)
    copy = DisturbedSource(inner, Shift(), 0.5, seed=9)
    assert [copy.item_digest(i) for i in range(3)] == [inner.item_digest(i) for i in range(3)]
    assert copy.item_name(1) == "n1" and copy.domain == "features"
    assert copy.config()["disturbance"] == {"name": "shift", "strength": 0.5, "seed": 9}
    assert copy.load(2)[0] == pytest.approx(2.5, abs=1e-3)
    assert DisturbedSource(inner, Shift(), 0.5, seed=9).load(2)[0] == copy.load(2)[0]


def test_the_registry_knows_each_domains_disturbances():
    registry = get_registry()
    image = {info.name for info in registry.disturbances("image")}
    audio = {info.name for info in registry.disturbances("audio")}
    assert {"noise", "blur", "rectangles", "swirl", "salt-pepper", "mix"} <= image
    assert {"noise", "lowpass", "clipping", "mix"} <= audio
    assert registry.create_disturbance("blur", "image").name == "blur"


@pytest.mark.parametrize(("spec", "message"), [
    ("glow", "unknown disturbance 'glow' for image inputs; available: mix:OTHER, noise"),
    ("mix", "disturbance 'mix': write it as mix:OTHER"),
    ("blur:x", "disturbance 'blur:x': write it as blur"),
    ("mix:/no/such/folder", "/no/such/folder: no such file or folder"),
])
def test_a_wrong_disturbance_is_one_line_saying_what_to_write(spec, message):
    with pytest.raises(Exception) as caught:
        get_registry().create_disturbance(spec, "image")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_disturbance_class_without_unit_is_refused():
    class Vague(Shift):
        unit = None

    with pytest.raises(Exception, match="must set name, domain and unit"):
        get_registry().add_disturbance(Vague, plugin="vague")
    with pytest.raises(ConfigError):
        get_registry().create_disturbance("lowpass", "image")
