"""The documentation covers the public surface: every CLI flag, every public API name, every page in the nav."""

import argparse
import re
from pathlib import Path

import frechet
from frechet.cli import build_parser

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _subcommands(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def test_every_cli_command_and_flag_is_documented():
    text = (DOCS / "cli.md").read_text()
    for name, subparser in _subcommands(build_parser()).items():
        assert f"frechet {name}" in text, f"command {name} missing from docs/cli.md"
        for action in subparser._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert f"`{flag}" in text, f"{flag} of `frechet {name}` missing from docs/cli.md"


def test_every_public_api_name_is_documented():
    text = (DOCS / "api.md").read_text()
    for name in frechet.__all__:
        if name != "__version__":
            assert re.search(rf"\b{name}\b", text), f"frechet.{name} missing from docs/api.md"


def test_every_page_is_reachable_from_the_index_and_mkdocs_nav():
    index = (DOCS / "index.md").read_text()
    nav = (DOCS.parent / "mkdocs.yml").read_text()
    for page in DOCS.rglob("*.md"):
        relative = page.relative_to(DOCS).as_posix()
        if relative != "index.md":
            assert f"({relative})" in index, f"docs/{relative} not linked from docs/index.md"
            assert relative in nav, f"docs/{relative} not in mkdocs.yml nav"


def test_every_test_named_in_the_reliability_table_exists():
    text = (DOCS / "reliability.md").read_text()
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", text)
    assert len(named) >= 40
    for path, name in named:
        source = DOCS.parent / path
        assert source.is_file(), f"docs/reliability.md names {path}, which does not exist"
        assert re.search(rf"^def {name}\(", source.read_text(), re.MULTILINE), f"{path}::{name} does not exist"
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| What |")]
    assert all("`tests/" in row or "the two tests above" in row for row in rows if not row.startswith("| Input |"))
