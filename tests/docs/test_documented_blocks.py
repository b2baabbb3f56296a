"""Every shell, console and Python block of README.md, docs/ and the example plugin's README runs as written — offline,
on tiny inputs, with stand-in weights — or its marker says why not and what runs instead (docs/index.md,
"Documentation that runs"). A block runs in its page's folder after the blocks above it, as a reader following the
page would; a block that fails, unmarked, fails its test with its output."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from docblocks import BLOCK_TIMEOUT, REPO, Block, MarkerError, blocks, console_commands, documented_pages, shows_output


def _collect() -> tuple[list[Block], list[str]]:
    found, errors = [], []
    for page in documented_pages():
        try:
            found += blocks(page)
        except MarkerError as error:
            errors.append(str(error))
    return found, errors


BLOCKS, MARKER_ERRORS = _collect()
RUNNABLE = [block for block in BLOCKS if block.kind is not None]
#: Blocks of printed text with the command that prints them.
OUTPUTS = [block for block in BLOCKS if block.output is not None]


class BlockFailed(AssertionError):
    """A block exited with an error."""


def run_block(block: Block, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess | None:
    """Run ``block`` in ``folder`` as its markers say (None: it was only written, or skipped); BlockFailed when it
    exits with an error."""
    if block.skip is not None:
        return None
    scratch = folder / ".docs-test"
    scratch.mkdir(exist_ok=True)
    if block.file is not None:
        target = folder / block.file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.code)
        if block.kind == "python":
            compile(block.code, str(target), "exec")
        return None
    code = console_commands(block.code) if block.kind == "console" else block.code
    stem = f"{block.path.stem}-{block.line}"
    if block.instead is not None:
        saved = scratch / f"{stem}.{'py' if block.kind == 'python' else 'sh'}"
        saved.write_text(code)
        command = ["bash", "-c", "set -eo pipefail\n" + block.instead]
        env = {**env, "DOCS_BLOCK": str(saved)}
    elif block.kind == "python":
        command = [sys.executable, "-c", "".join([*block.setup, code, *block.then])]
    else:
        command = ["bash", "-c", "set -eo pipefail\n" + "".join([*block.setup, code, *block.then])]
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT,
                          check=False)
    if done.returncode != 0:
        ran = command[-1]
        raise BlockFailed(
            f"{block.id} failed (exit {done.returncode}); fix the docs or the code, or mark the block "
            f"(docs/index.md, 'Documentation that runs').\n--- ran in {folder}:\n{textwrap.indent(ran, '    ')}\n"
            f"--- stdout:\n{done.stdout[-3000:]}\n--- stderr:\n{done.stderr[-6000:]}"
        )
    return done


@pytest.fixture(scope="session")
def run_on_page(page_folders, docs_env):
    """``run_on_page(block)`` runs the blocks of its page above it that have not run yet, then the block."""
    done: dict[Path, int] = {}

    def run(block: Block) -> subprocess.CompletedProcess | None:
        page = [other for other in RUNNABLE if other.path == block.path]
        folder = page_folders[block.path]
        above = sum(1 for other in page if other.line < block.line)
        for earlier in page[done.get(block.path, 0) : above]:
            try:
                run_block(earlier, folder, docs_env)
            except BlockFailed as failure:
                raise BlockFailed(f"{block.id} comes after {earlier.id}, which failed:\n{failure}") from None
        done[block.path] = max(done.get(block.path, 0), above + (block.kind is not None))
        if block.output is not None:
            return printed_output(block, folder, docs_env)
        return run_block(block, folder, docs_env)

    return run


def printed_output(block: Block, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run the command of an ``output`` marker; BlockFailed unless what it prints is the block's text."""
    done = subprocess.run(["bash", "-c", "set -eo pipefail\n" + block.output], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=BLOCK_TIMEOUT, check=False)
    if not shows_output(block.code, done.stdout + done.stderr):
        raise BlockFailed(f"{block.id}: the documented output is not what `{block.output.strip()}` prints (numbers "
                          f"aside); fix the docs or the code.\n--- documented:\n{block.code}--- printed:\n"
                          f"{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done


@pytest.mark.parametrize("block", OUTPUTS, ids=[block.id for block in OUTPUTS])
def test_documented_output_is_what_the_command_prints(block, run_on_page):
    run_on_page(block)


def test_every_marker_is_well_formed_and_every_fence_names_its_language():
    assert not MARKER_ERRORS, "\n".join(MARKER_ERRORS)


@pytest.mark.parametrize("block", RUNNABLE, ids=[block.id for block in RUNNABLE])
def test_documented_block_runs(block, run_on_page):
    if block.skip is not None:
        pytest.skip(f"{block.id}: docs-test: skip ({block.skip})")
    run_on_page(block)


# ---------------------------------------------------------------------------------------------------- README
def _readme_block(heading: str) -> Block:
    text = (REPO / "README.md").read_text()
    line = text[: text.index(heading)].count("\n") + 1
    return next(block for block in BLOCKS if block.path.name == "README.md" and block.line > line)


def test_readme_starts_with_the_main_command_then_the_test_command_as_ci_runs_it():
    first, second = [block for block in BLOCKS if block.path == REPO / "README.md"][:2]
    assert first is _readme_block("## Score two image folders") and second is _readme_block("## Run the tests")
    tests = second
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert tests.code.strip() == ci


def test_readme_main_command_runs_offline_and_prints_no_warning_on_the_example_images(docs_env, page_folders):
    command = _readme_block("## Score two image folders").code.strip().rsplit(" && ", 1)[-1]
    assert command.startswith("frechet compute examples/images/real examples/images/fake")
    folder = page_folders[REPO / "README.md"]
    done = subprocess.run(["bash", "-c", command], cwd=folder, env=docs_env, capture_output=True, text=True,
                          timeout=BLOCK_TIMEOUT, check=False)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr, done.stderr
    assert re.search(r"^is_mean\s+\d", done.stdout, re.MULTILINE), done.stdout


# ---------------------------------------------------------------------------------------------------- the harness
def _page(tmp_path: Path, text: str) -> list[Block]:
    page = tmp_path / "page.md"
    page.write_text(textwrap.dedent(text))
    return blocks(page)


@pytest.fixture
def harness_page(tmp_path, monkeypatch):
    monkeypatch.setattr("docblocks.REPO", tmp_path)
    return lambda text: _page(tmp_path, text)


def test_an_unmarked_block_that_fails_fails_with_its_output(harness_page, tmp_path, docs_env):
    [block] = harness_page("""
        ```bash
        echo before
        frechet compute missing/ also-missing/
        echo never
        ```
    """)
    with pytest.raises(BlockFailed, match=r"page.md:2 failed \(exit 2\)(.|\n)*before(.|\n)*frechet: error: "):
        run_block(block, tmp_path, docs_env)


def test_markers_skip_stand_in_set_up_and_write_files(harness_page, tmp_path, docs_env):
    skipped, instead, python, console, written = harness_page("""
        <!-- docs-test: skip (needs eight GPUs) -->
        ```bash
        exit 1
        ```

        <!-- docs-test: instead
        test -f "$DOCS_BLOCK"
        echo stand-in > instead.txt
        -->

        ```bash
        exit 1
        ```
        <!-- docs-test: setup: value = 41 -->
        <!-- docs-test: then: assert answer == 42 -->
        ```python
        answer = value + 1
        ```
        ```console
        $ echo one \\
            two > console.txt
        one two
        ```
        <!-- docs-test: file: pkg/module.py -->
        ```python
        VALUE = 1
        ```
    """)
    assert skipped.skip == "needs eight GPUs" and run_block(skipped, tmp_path, docs_env) is None
    run_block(instead, tmp_path, docs_env)
    assert (tmp_path / "instead.txt").read_text() == "stand-in\n"
    run_block(python, tmp_path, docs_env)
    run_block(console, tmp_path, docs_env)
    assert (tmp_path / "console.txt").read_text() == "one two\n"
    run_block(written, tmp_path, docs_env)
    assert (tmp_path / "pkg" / "module.py").read_text() == "VALUE = 1\n"


@pytest.mark.parametrize("text, message", [
    ("```\nfrechet embedders\n```\n", "a fence without a language"),
    ("<!-- docs-test: skip -->\n```bash\nexit 1\n```\n", r"skip \(REASON\)"),
    ("<!-- docs-test: skipp (typo) -->\n```bash\nexit 1\n```\n", "not a docs-test marker"),
    ("<!-- docs-test: setup: x = 1 -->\nSome prose.\n```python\nx\n```\n", "must stand right above"),
    ("<!-- docs-test: skip (a) -->\n<!-- docs-test: setup: x = 1 -->\n```python\nx\n```\n", "does not combine"),
    ("```python\nx = 1\n```\n<!-- docs-test: skip (orphan) -->\n", "no block below it"),
])
def test_a_malformed_or_misplaced_marker_is_an_error_naming_its_line(harness_page, text, message):
    with pytest.raises(MarkerError, match=message):
        harness_page(text)


def test_documented_output_is_compared_with_what_the_command_prints_numbers_aside(harness_page, tmp_path, docs_env):
    same, other = harness_page("""
        <!-- docs-test: output: printf 'fd     12.5\\nembedder  inception(weights=6726825d)\\n' -->
        ```text
        fd        3.25
        embedder  inception(weights=6726825d)
        ```
        <!-- docs-test: output: printf 'fd 1\\nembedder inception(weights=pt_inception-6726825d)\\n' -->
        ```text
        fd  1 …
        embedder  inception(weights=6726825d)
        ```
    """)
    printed_output(same, tmp_path, docs_env)
    with pytest.raises(BlockFailed, match="the documented output is not what"):
        printed_output(other, tmp_path, docs_env)
