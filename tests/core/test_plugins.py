"""Plugins: entry points are discovered, FRECHET_PLUGINS restricts them, and a broken plugin is reported, not fatal."""

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from frechet.cli import main
from frechet.errors import ConfigError, PluginError
from frechet.plugins import BUILTIN_PLUGIN, get_plugins, get_registry, reset_plugins

GOOD_PLUGIN = """
    import torch
    from frechet import Embedder, hookimpl

    class Doubler(Embedder):
        name = "doubler"
        domain = "features"
        parallel_transform = False

        def __init__(self, factor="2"):
            super().__init__()
            self.factor = float(factor)
            self.outputs = {"doubled": None}
            self.default_output = "doubled"

        def transform(self, item):
            return torch.from_numpy(item)

        def forward(self, batch):
            return {"doubled": batch * self.factor}

        def config(self):
            return {"factor": self.factor}

    @hookimpl
    def frechet_register_embedders(register):
        register("doubler", Doubler, domain="features", outputs={"doubled": None}, description="x * factor",
                 aliases=("twice",))
"""


def _record(name):
    return next(record for record in get_plugins().records if record.name == name)


def test_builtins_are_always_registered_through_the_same_hooks(monkeypatch):
    monkeypatch.setenv("FRECHET_PLUGINS", "")
    reset_plugins()
    registry = get_registry()
    assert [info.name for info in registry.embedders()] == ["features"]
    assert {info.plugin for info in registry.metrics()} == {BUILTIN_PLUGIN}
    assert {"feature-file", "feature-array"} <= {info.kind for info in registry.sources()}


def test_an_installed_plugin_is_discovered_by_entry_point(install_plugin):
    install_plugin("doubler", GOOD_PLUGIN)
    info, _ = get_registry().embedder_info("twice")
    assert info.name == "doubler" and info.plugin == "doubler"
    embedder = get_registry().create_embedder("doubler", factor="3")
    assert embedder.id() == "doubler(factor=3.0)"
    assert _record("doubler").status == "loaded"


def test_frechet_plugins_restricts_which_entry_points_load(install_plugin, monkeypatch):
    install_plugin("doubler", GOOD_PLUGIN)
    monkeypatch.setenv("FRECHET_PLUGINS", "something-else")
    reset_plugins()
    assert _record("doubler").status == "disabled"
    with pytest.raises(ConfigError, match="unknown embedder 'doubler'"):
        get_registry().embedder_info("doubler")


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("raise ImportError('needs libfoo')", "needs libfoo"),
        ("from frechet import hookimpl\n@hookimpl\ndef frechet_register_embedder(register): pass\n", "unknown hook"),
        ("from frechet import hookimpl\n@hookimpl\ndef frechet_register_embedders(register):\n"
         "    register('half', object, domain='x', outputs={}, description='')\n    raise RuntimeError('boom')\n", "boom"),
    ],
    ids=["import-error", "misspelt-hook", "raises-while-registering"],
)
def test_a_broken_plugin_is_reported_and_skipped(install_plugin, caplog, source, reason):
    install_plugin("broken", source)
    with caplog.at_level(logging.WARNING, logger="frechet"):
        registry = get_registry()
    record = _record("broken")
    assert record.status == "failed" and reason in record.error
    assert "broken" in caplog.text and "skipped" in caplog.text
    assert "half" not in [info.name for info in registry.embedders()]  # nothing half-registered
    assert "features" in [info.name for info in registry.embedders()]


def test_a_duplicate_name_is_skipped_without_dropping_the_plugin(install_plugin, caplog):
    install_plugin("dupe", """
        from frechet import hookimpl
        from frechet.metrics.fd import FrechetDistanceMetric
        @hookimpl
        def frechet_register_metrics(register):
            register("fd", FrechetDistanceMetric, description="again")
            register("fd2", FrechetDistanceMetric, description="new name")
    """)
    with caplog.at_level(logging.WARNING, logger="frechet"):
        registry = get_registry()
    assert registry.metric_info("fd").plugin == BUILTIN_PLUGIN
    assert registry.metric_info("fd2").plugin == "dupe"
    assert "already registered" in caplog.text


def test_the_cli_lists_plugins_and_their_embedders(install_plugin, capsys):
    install_plugin("doubler", GOOD_PLUGIN)
    assert main(["plugins", "--json"]) == 0
    plugins = {row["name"]: row for row in json.loads(capsys.readouterr().out.splitlines()[-1])["plugins"]}
    assert plugins["doubler"]["status"] == "loaded"
    assert plugins["doubler"]["hooks"] == ["frechet_register_embedders"]
    assert main(["embedders"]) == 0
    assert "doubler" in capsys.readouterr().out


def test_a_plugin_embedder_runs_end_to_end(install_plugin, tmp_path, capsys):
    import numpy as np

    install_plugin("doubler", GOOD_PLUGIN)
    rng = np.random.default_rng(0)
    np.save(tmp_path / "a.npy", rng.standard_normal((50, 4)))
    np.save(tmp_path / "b.npy", rng.standard_normal((60, 4)))
    assert main(["compute", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--json", "--quiet"]) == 0
    plain = json.loads(capsys.readouterr().out.splitlines()[-1])["fd"]
    assert main(["compute", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--embedder", "doubler",
                 "--json", "--quiet"]) == 0
    doubled = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert doubled["fd"] == pytest.approx(4 * plain, rel=1e-12)  # FD scales with the square of the features
    assert doubled["embedder"] == "doubler(factor=2.0)"


PLANTED = """
    from pathlib import Path
    Path(__file__).with_name("imported.marker").write_text("planted code ran")

    def build():
        raise RuntimeError("planted factory called")
"""


def test_plugins_load_from_installed_entry_points_only_and_python_embedders_import_what_the_user_names(
    tmp_path, monkeypatch
):
    folder = tmp_path / "planted"
    folder.mkdir()
    (folder / "frechet_planted.py").write_text(textwrap.dedent(PLANTED))
    marker = folder / "imported.marker"
    monkeypatch.syspath_prepend(str(folder))  # importable, and the current folder, but not an installed entry point
    monkeypatch.chdir(folder)
    monkeypatch.setenv("FRECHET_PLUGINS", f"frechet_planted,./frechet_planted.py,{folder / 'frechet_planted.py'}")
    reset_plugins()
    records = get_plugins().records
    assert records[0].name == BUILTIN_PLUGIN and {record.status for record in records[1:]} == {"disabled"}
    assert not any("planted" in record.module for record in records)
    for name in ("frechet_planted", "frechet_planted:build", "./frechet_planted.py", str(folder / "frechet_planted.py"),
                 "planted"):
        with pytest.raises(ConfigError, match="unknown embedder"):
            get_registry().create_embedder(name)
    assert not marker.exists() and "frechet_planted" not in sys.modules
    monkeypatch.delenv("FRECHET_PLUGINS")
    reset_plugins()
    with pytest.raises(PluginError, match="planted factory called"):
        get_registry().create_embedder("python:frechet_planted:build")  # named by the user: imported on purpose
    assert marker.read_text() == "planted code ran"
    monkeypatch.delitem(sys.modules, "frechet_planted")


def test_python_dash_m_frechet_never_loads_a_plugin_module_from_the_current_folder(tmp_path):
    (tmp_path / "frechet_inception.py").write_text(textwrap.dedent(PLANTED))  # shadows the built-in plugin's module
    done = subprocess.run([sys.executable, "-m", "frechet", "plugins", "--json"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    inception = next(row for row in json.loads(done.stdout)["plugins"] if row["name"] == "inception")
    assert inception["status"] == "loaded" and "frechet_register_embedders" in inception["hooks"]
    assert not (tmp_path / "imported.marker").exists()


_EXITS = {
    "sys-exit-on-import": "import sys\nsys.exit(3)\n",
    "keyboard-interrupt-on-import": "raise KeyboardInterrupt\n",
    "system-exit-while-registering": (
        "from frechet import hookimpl\n@hookimpl\ndef frechet_register_metrics(register):\n    raise SystemExit(0)\n"
    ),
    "base-exception-while-registering": (
        "from frechet import hookimpl\nclass Boom(BaseException):\n    pass\n"
        "@hookimpl\ndef frechet_register_metrics(register):\n    raise Boom('boom')\n"
    ),
}


@pytest.mark.parametrize("source", list(_EXITS.values()), ids=list(_EXITS))
def test_a_plugin_that_exits_or_interrupts_while_loading_is_reported_and_skipped(install_plugin, tmp_path, source):
    site = install_plugin("quitter", source)
    np.save(tmp_path / "a.npy", np.random.default_rng(0).standard_normal((20, 3)))
    env = {**os.environ, "PYTHONPATH": str(site)}
    listed = subprocess.run([sys.executable, "-m", "frechet", "plugins", "--json"], env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    assert listed.returncode == 0, listed.stderr
    record = next(row for row in json.loads(listed.stdout)["plugins"] if row["name"] == "quitter")
    assert record["status"] == "failed" and record["error"]
    assert "frechet: warning: plugin 'quitter'" in listed.stderr and "skipped" in listed.stderr
    run = subprocess.run([sys.executable, "-m", "frechet", "distance", "a.npy", "a.npy", "--json"], env=env,
                         cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0 and json.loads(run.stdout.splitlines()[-1])["fd"] == pytest.approx(0.0, abs=1e-12)


def test_a_real_ctrl_c_while_plugins_load_still_stops_frechet(install_plugin, tmp_path):
    marker = tmp_path / "importing"
    site = install_plugin("slow", f"""
        import pathlib, time
        pathlib.Path({str(marker)!r}).write_text("started")
        time.sleep(60)
    """)
    env = {**os.environ, "PYTHONPATH": str(site)}
    process = subprocess.Popen([sys.executable, "-m", "frechet", "plugins"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130 and err.strip().splitlines()[-1] == "frechet: interrupted"


def test_frechet_plugins_naming_a_plugin_that_is_not_installed_warns_and_lists_the_installed_ones(
    install_plugin, monkeypatch, caplog
):
    install_plugin("doubler", GOOD_PLUGIN)
    monkeypatch.setenv("FRECHET_PLUGINS", "doubler,nonexistent")
    reset_plugins()
    with caplog.at_level(logging.WARNING, logger="frechet"):
        get_plugins()
    assert "FRECHET_PLUGINS names 'nonexistent', which no installed plugin is called; installed:" in caplog.text
    assert "doubler" in caplog.text.split("installed:")[1]
    assert _record("doubler").status == "loaded"


def test_a_third_party_entry_point_named_like_a_built_in_is_reported_and_the_built_in_wins(install_plugin, caplog):
    install_plugin("inception", """
        from frechet import hookimpl
        @hookimpl
        def frechet_register_metrics(register):
            raise RuntimeError("the impostor was loaded")
    """, module="frechet_test_impostor")
    with caplog.at_level(logging.WARNING, logger="frechet"):
        get_plugins()
    assert "plugin name 'inception' is provided by frechet (frechet_inception) and also by frechet_test_impostor" in (
        caplog.text)
    assert _record("inception").module == "frechet_inception" and _record("inception").status == "loaded"
    assert "impostor" not in caplog.text.replace("frechet_test_impostor", "")


def test_a_plugin_loads_the_plugins_it_requires_and_is_skipped_when_one_is_missing(install_plugin, monkeypatch,
                                                                                   caplog):
    install_plugin("needs-image", "frechet_requires = ('image',)\n")
    install_plugin("needs-nothing-there", "frechet_requires = ('not-installed',)\n")
    monkeypatch.setenv("FRECHET_PLUGINS", "needs-image,needs-nothing-there")
    reset_plugins()
    with caplog.at_level(logging.WARNING, logger="frechet"):
        get_plugins()
    assert _record("needs-image").status == "loaded" and _record("image").status == "loaded"  # loaded along
    assert _record("inception").status == "disabled"
    missing = _record("needs-nothing-there")
    assert missing.status == "failed" and missing.error == "needs plugin 'not-installed', which is not installed"


@pytest.mark.parametrize(("body", "reason"), [("raise ValueError('bad checkpoint')", "ValueError: bad checkpoint"),
                                              ("raise SystemExit(4)", "it called sys.exit(4)")])
def test_an_embedder_factory_that_fails_or_exits_is_one_line_naming_the_embedder(install_plugin, body, reason):
    install_plugin("fragile", f"""
        from frechet import hookimpl
        def build(**options):
            {body}
        @hookimpl
        def frechet_register_embedders(register):
            register("fragile", build, domain="features", outputs={{"x": 2}}, description="fails to build")
    """)
    with pytest.raises(PluginError) as raised:
        get_registry().create_embedder("fragile")
    assert str(raised.value) == f"embedder 'fragile' (plugin 'fragile') failed to build: {reason}"


def test_options_a_base_class_declares_are_parsed_for_each_subclass_and_named_after_it():
    from frechet import Embedder, Option

    class Scaled(Embedder):
        domain = "features"
        outputs = {"scaled": 1}
        default_output = "scaled"
        options = (Option("scale", float, default=1.0, help="factor"),)

        def __init__(self, scale: float = 1.0) -> None:
            super().__init__()
            self.scale = scale

        def transform(self, item):
            return item

        def forward(self, batch):
            return {"scaled": batch * self.scale}

    class Small(Scaled):
        name = "small"

    class Large(Scaled):
        name = "large"

    assert Small(scale="2.5").scale == 2.5
    with pytest.raises(ConfigError, match="large"):
        Large(scale="big")
