"""python:package.module:factory — the user's own Embedder, imported by name; options reach it and its id."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from custom_helpers import oracle_fd, run_cli

from frechet.errors import ConfigError, PluginError
from frechet.plugins import get_registry

MODULE = """
    import torch
    from frechet import Embedder

    class Scaled(Embedder):
        name = "scaled"
        domain = "features"
        parallel_transform = False

        def __init__(self, scale):
            super().__init__()
            self.scale = scale
            self.outputs = {"scaled": None}
            self.default_output = "scaled"

        def transform(self, item):
            return torch.from_numpy(item)

        def forward(self, batch):
            return {"scaled": batch * self.scale}

    def build(scale="1"):
        return Scaled(float(scale))

    def forgetful(scale="1"):  # its embedder's id does not mention the scale
        return Scaled(float(scale))

    def not_an_embedder():
        return "model"

    def broken():
        raise FileNotFoundError("checkpoint.pt is missing")

    VALUE = 3
"""


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "my_backbones.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.syspath_prepend(str(folder))
    return "my_backbones"


@pytest.fixture
def features(tmp_path):
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((40, 5)), rng.standard_normal((50, 5)) * 1.3 + 0.1
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    return (tmp_path / "a.npy", tmp_path / "b.npy"), (a, b)


def test_the_factorys_embedder_runs_with_the_options_given(user_module, features, capsys):
    (a_path, b_path), (a, b) = features
    code, result, _ = run_cli(capsys, "compute", str(a_path), str(b_path), "--embedder",
                              f"python:{user_module}:build", "--embedder-option", "scale=2")
    assert code == 0
    assert result["fd"] == pytest.approx(oracle_fd(2 * a, 2 * b), rel=1e-9)
    assert result["output"] == "scaled"


def test_the_factory_and_its_options_are_part_of_the_id_even_when_its_embedder_forgets_them(user_module):
    def embedder_id(factory, **options):
        return get_registry().create_embedder(f"python:{user_module}:{factory}", **options).id()

    assert embedder_id("forgetful", scale="2") != embedder_id("forgetful", scale="3")
    assert embedder_id("forgetful", scale="2") != embedder_id("build", scale="2")
    assert f"factory={user_module}:build" in embedder_id("build", scale="2")


@pytest.mark.parametrize(
    ("target", "options", "error", "message"),
    [
        ("no_such_module_xyz:build", {}, ConfigError, "cannot import 'no_such_module_xyz'"),
        ("{module}:missing", {}, ConfigError, "has no attribute 'missing'"),
        ("{module}:VALUE", {}, ConfigError, "'VALUE' in 'my_backbones' is not callable"),
        ("{module}", {}, ConfigError, "expected python:package.module:factory"),
        ("{module}:not_an_embedder", {}, ConfigError, "the factory returned str, not a frechet.Embedder"),
        ("{module}:build", {"colour": "red"}, ConfigError, "the factory does not take these options"),
        ("{module}:broken", {}, PluginError, "the factory raised FileNotFoundError: checkpoint.pt is missing"),
    ],
)
def test_problems_with_the_factory_are_one_line_errors_naming_it(user_module, target, options, error, message):
    target = target.format(module=user_module)
    with pytest.raises(error) as raised:
        get_registry().create_embedder(f"python:{target}", **options)
    assert message in str(raised.value) and f"python:{target}" in str(raised.value)
    assert "\n" not in str(raised.value)
