"""Every embedder id the documentation shows (``inception(preprocess=tf,weights=6726825d)``, a TorchScript model's
``torchscript(…,weights=sha256:…)``) is the id frechet gives that embedder with those options: the same option
names, the same values, and where a value names a file of the reader's own (its sha256), the same form."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from docblocks import REPO, documented_pages
from frechet.errors import FrechetError
from frechet.plugins import get_registry

#: ``name(key=value,…)`` or ``name:target(…)`` as ids are written in prose and output.
_ID = re.compile(r"(?<![\w.:-])(?P<name>[a-z][a-z0-9-]*)(?:\:[^\s(`]*)?\((?P<options>[a-z_]+=[^()\s`]*)\)")
#: A value that names one file's content: a published file's 8 hex digits, or another file's ``sha256:`` + 16.
_FILE_DIGEST = re.compile(r"(sha256:)?[0-9a-f]{8,16}")
#: The family kinds whose ids are checked with a small model file of the test's own, and how each is made.
_FAMILY_FILES = {"torchscript": "model.pt"}


def _documented_ids() -> list[tuple[str, str, str]]:
    """(page:line, embedder name, options text) of every embedder id in the documentation."""
    registry = get_registry()
    names = {info.name.rstrip(":") for info in registry.embedders()}
    found = []
    for page in documented_pages():
        for number, line in enumerate(page.read_text().splitlines(), start=1):
            for match in _ID.finditer(line):
                if match.group("name") in names:
                    found.append((f"{page.name}:{number}", match.group("name"), match.group("options")))
    return found


def _options(text: str) -> dict[str, str]:
    """``a=1,b=0.1,0.2,c=x`` -> {a: 1, b: "0.1,0.2", c: x} (a value may hold commas; a key never does)."""
    return dict(part.split("=", 1) for part in re.split(r",(?=[a-z_]+=)", text))


def _real_id(name: str, documented: dict[str, str], folder: Path) -> str:
    """The id frechet gives ``name`` built with the documented options (a family member from a small file)."""
    given = {key: value for key, value in documented.items() if key != "weights" and value != "…"}
    if name in _FAMILY_FILES:
        network = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
        model = torch.jit.trace(network, torch.zeros(1, 3, 8, 8))
        path = folder / _FAMILY_FILES[name]
        model.save(str(path))
        return get_registry().create_embedder(f"{name}:{path}", **given).id()
    return get_registry().create_embedder(name, **given).id()


IDS = _documented_ids()


def test_the_documentation_shows_embedder_ids():
    assert len(IDS) >= 5 and {"inception", "torchscript"} <= {name for _, name, _ in IDS}


@pytest.mark.parametrize(("where", "name", "text"), IDS, ids=[f"{where}:{name}" for where, name, _ in IDS])
def test_a_documented_embedder_id_is_the_id_frechet_prints(where, name, text, tmp_path):
    documented = _options(text)
    try:
        real = _options(_ID.search(_real_id(name, documented, tmp_path)).group("options"))
    except FrechetError as error:
        pytest.fail(f"{where}: {name}({text}) names options frechet refuses: {error}")
    assert list(documented) == list(real), f"{where}: documented {name}({text}), frechet prints {real}"
    for key, value in documented.items():
        if value == "…" or value == real[key]:
            continue
        own_file = name in _FAMILY_FILES and key == "weights"  # the reader's model: its own digest, same form
        assert own_file and _FILE_DIGEST.fullmatch(value) and value.startswith("sha256:") == real[key].startswith(
            "sha256:") and len(value) == len(real[key]), f"{where}: {key}={value}, frechet prints {key}={real[key]}"


def _commands(line: str) -> list[str]:
    """The ``frechet …`` commands on a line of a page (in backticks, or the whole line of a code block)."""
    quoted = re.findall(r"`(frechet [^`]+)`", line)
    return quoted or ([line.strip()] if line.strip().startswith("frechet ") else [])


def test_documented_commands_that_run_dinov2_name_its_weights_file():
    """The DINOv2 plugin takes Meta's checkpoint by path (``--weights``), so a documented command without it fails."""
    missing = [f"{page.name}:{number}: {command}" for page in documented_pages()
               for number, line in enumerate(page.read_text().splitlines(), start=1) for command in _commands(line)
               if re.match(r"frechet (compute|stats|report|sanity) ", command) and "dinov2" in command
               and "weights" not in command]
    assert not missing, "\n".join(missing)


def test_the_audio_guide_names_every_audio_models_file_and_where_to_get_it():
    """The audio guide's table is what a user without internet goes by: each file under the name and URL frechet
    looks for."""
    guide = (REPO / "docs" / "guide" / "audio.md").read_text()
    audio = [info for info in get_registry().embedders() if info.domain == "audio"]
    assert len(audio) >= 6
    for info in audio:
        for spec in getattr(info.factory, "weights", ()) or ():
            assert f"`{spec.file_name}`" in guide and f"`{spec.url}`" in guide, (info.name, spec.file_name)
    assert "FRECHET_OFFLINE=1 frechet compute" in guide and "frechet weights vggish pann --fetch" in guide
