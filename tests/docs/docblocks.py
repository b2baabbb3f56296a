"""The documented blocks: every fenced block of README.md, docs/ and the example plugin's README, with the
``docs-test`` markers written right above it (the grammar is documented in docs/index.md, "Documentation that runs").

A marker is an HTML comment, invisible when the page is rendered, on the lines just above a block's opening fence
(blank lines between them are allowed):

    <!-- docs-test: skip (why it cannot run anywhere the tests run) -->
    <!-- docs-test: instead: SHELL COMMANDS -->      the offline stand-in, run in place of the block
    <!-- docs-test: setup: CODE -->                  run first, in the block's language, in the same process
    <!-- docs-test: then: CODE -->                   run after the block, in the same process (checks, uses)
    <!-- docs-test: file: PATH -->                   the block is the content of PATH: written, not run
    <!-- docs-test: output: SHELL COMMAND -->        the block is what COMMAND prints (run after the blocks above):
                                                     compared line by line, spaces collapsed, each number standing
                                                     for any number (the stand-in inputs and weights give others),
                                                     `…` for any text; every other character as printed

``instead``, ``setup`` and ``then`` may span lines: ``<!-- docs-test: setup`` on its own line, the code, then
``-->``.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: Seconds one documented block (or the session's setup run) may take before it counts as hung: far above any
#: block's time on a busy 2-core machine (the README's list of backbones took over 600 s under a load of 25).
BLOCK_TIMEOUT = 1800
#: Fence languages that are run: shell scripts, console sessions (the lines after "$ "), Python.
RUN = {"bash": "shell", "sh": "shell", "shell": "shell", "console": "console", "python": "python"}
MARKER_KINDS = ("skip", "instead", "setup", "then", "file", "output")

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<lang>[\w+-]*)\s*$")
_MARKER = re.compile(r"<!--\s*docs-test:\s*(?P<kind>[a-z]+)(?P<rest>.*?)-->", re.DOTALL)
_COMMENT_START = "<!--"


class MarkerError(ValueError):
    """A malformed or misplaced marker, or a fence without a language."""


@dataclass
class Block:
    """One fenced block and what its markers say."""

    path: Path
    line: int  # of the opening fence, 1-based
    language: str
    code: str
    skip: str | None = None
    instead: str | None = None
    setup: list[str] = field(default_factory=list)
    then: list[str] = field(default_factory=list)
    file: str | None = None
    output: str | None = None

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(REPO).as_posix()}:{self.line}"

    @property
    def kind(self) -> str | None:
        """"shell", "console" or "python" for a block that runs; None for one that is only shown."""
        return RUN.get(self.language)


def documented_pages() -> list[Path]:
    """README.md, every page under docs/, and the READMEs of the plugins shipped as examples."""
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md")), *sorted(REPO.glob("plugins/*/README.md"))]


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a page, in order, with their markers; MarkerError for a fence without a language or a
    marker that is malformed or not right above a block."""
    lines = path.read_text().splitlines()
    found: list[Block] = []
    pending: list[tuple[int, str, str]] = []  # (line, kind, body) of markers waiting for their block
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence:
            end = _closing(lines, index, fence.group("fence"), path)
            language = fence.group("lang").lower()
            if not language:
                raise MarkerError(f"{path.relative_to(REPO)}:{index + 1}: a fence without a language; name it "
                                  "(```bash, ```python, ```console, or ```text for output and trees)")
            indent = len(fence.group("indent"))
            code = "\n".join(text[indent:] if text[:indent].strip() == "" else text for text in lines[index + 1:end])
            found.append(_marked(Block(path, index + 1, language, code + "\n"), pending))
            pending = []
            index = end + 1
            continue
        if "docs-test" in line and line.lstrip().startswith(_COMMENT_START):
            start = index
            text = line
            while "-->" not in text:
                index += 1
                if index == len(lines):
                    raise MarkerError(f"{path.relative_to(REPO)}:{start + 1}: a docs-test marker without its '-->'")
                text += "\n" + lines[index]
            pending.append((start + 1, *_parse(text, path, start + 1)))
        elif line.strip() and pending:
            raise MarkerError(f"{path.relative_to(REPO)}:{pending[0][0]}: a docs-test marker must stand right above "
                              "the block it is for (only blank lines between them)")
        index += 1
    if pending:
        raise MarkerError(f"{path.relative_to(REPO)}:{pending[0][0]}: a docs-test marker with no block below it")
    return found


def _closing(lines: list[str], start: int, fence: str, path: Path) -> int:
    for index in range(start + 1, len(lines)):
        if lines[index].strip() == fence:
            return index
    raise MarkerError(f"{path.relative_to(REPO)}:{start + 1}: a fence that is never closed")


def _parse(text: str, path: Path, line: int) -> tuple[str, str]:
    match = _MARKER.fullmatch(text.strip())
    if not match or match.group("kind") not in MARKER_KINDS:
        raise MarkerError(f"{path.relative_to(REPO)}:{line}: not a docs-test marker; write one of "
                          + ", ".join(f"'<!-- docs-test: {kind} ... -->'" for kind in MARKER_KINDS))
    kind, rest = match.group("kind"), match.group("rest")
    if kind == "skip":
        reason = re.fullmatch(r"\s*\((?P<reason>.+)\)\s*", rest, re.DOTALL)
        if not reason:
            raise MarkerError(f"{path.relative_to(REPO)}:{line}: write '<!-- docs-test: skip (REASON) -->', with why")
        return kind, " ".join(reason.group("reason").split())
    body = rest[1:] if rest.startswith(":") else rest
    if not rest.startswith((":", "\n")) or not body.strip():
        raise MarkerError(f"{path.relative_to(REPO)}:{line}: write '<!-- docs-test: {kind}: ... -->' (or the "
                          "body on the lines below it)")
    return kind, _dedent(body)


def _dedent(body: str) -> str:
    lines = body.strip("\n").splitlines()
    if len(lines) == 1:
        return lines[0].strip() + "\n"
    return textwrap.dedent("\n".join(lines)).strip("\n") + "\n"


def _marked(block: Block, markers: list[tuple[int, str, str]]) -> Block:
    where = f"{block.id}"
    for _, kind, body in markers:
        if kind in ("skip", "instead", "file", "output") and getattr(block, kind) is not None:
            raise MarkerError(f"{where}: two '{kind}' markers above one block")
        if kind in ("setup", "then"):
            getattr(block, kind).append(body)
        else:
            setattr(block, kind, body.strip() if kind in ("skip", "file") else body)
    if block.output is not None and block.kind is not None:
        raise MarkerError(f"{where}: an 'output' marker stands above the printed text (```text), not a command")
    chosen = [kind for kind in ("skip", "instead", "file", "output") if getattr(block, kind) is not None]
    if len(chosen) > 1 or (chosen and chosen[0] != "file" and (block.setup or block.then)):
        raise MarkerError(f"{where}: '{chosen[0]}' does not combine with other markers")
    if markers and block.kind is None and block.output is None:
        raise MarkerError(f"{where}: docs-test markers above a ```{block.language} block, which is never run")
    return block


def console_commands(code: str) -> str:
    """The commands of a console session: each line after "$ ", with the lines a trailing backslash continues."""
    commands, continuing = [], False
    for line in code.splitlines():
        if continuing:
            commands.append(line)
        elif line.startswith("$ "):
            commands.append(line[2:])
        else:
            continue
        continuing = line.rstrip().endswith("\\")
    return "\n".join(commands) + "\n"


#: A number as printed: an integer, a decimal, or scientific notation, not part of a word (hex digests stay text).
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")


def output_pattern(expected: str) -> re.Pattern[str]:
    """The regular expression a command's printed text must match for documented ``expected`` output: each number
    any number, ``…`` any text, runs of spaces and line breaks one space, everything else itself."""
    text = " ".join(expected.split())
    pieces = []
    for part in re.split(r"(…)", text):
        if part == "…":
            pieces.append(".*?")
            continue
        position = 0
        for number in _NUMBER.finditer(part):
            pieces.append(re.escape(part[position:number.start()]))
            pieces.append(r"-?(?:\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|nan|inf|-)")
            position = number.end()
        pieces.append(re.escape(part[position:]))
    return re.compile("".join(pieces))


def shows_output(expected: str, printed: str) -> bool:
    """True when ``printed`` (spaces collapsed) holds the documented ``expected`` text (see :func:`output_pattern`)."""
    return output_pattern(expected).search(" ".join(printed.split())) is not None
