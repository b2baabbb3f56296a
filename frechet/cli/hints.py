"""One-line hints for usage errors: the flags of pytorch-fid, clean-fid and torch-fidelity in frechet's words, a
misspelt command, and inputs given without a command."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

#: A peer's flag -> what frechet takes instead (the peers: pytorch-fid, clean-fid, torch-fidelity).
PEER_FLAGS = {
    "--dims": "pytorch-fid's --dims is --layer here: the embedder output by name (`frechet embedders inception` "
              "lists each with its width)",
    "--num-workers": "--num-workers is --workers N here",
    "--num_workers": "--num_workers is --workers N here",
    "--gpu": "--gpu N is --device cuda:N here",
    "--cuda": "--cuda is --device cuda here (the default when a GPU is present)",
    "--mode": "clean-fid's --mode is --preprocess here: clean, tf (legacy_tensorflow) or pytorch-fid "
              "(legacy_pytorch)",
    "--model_name": "clean-fid's model_name is --embedder here (inception, clip-vitb32, …; `frechet embedders`)",
    "--feature-extractor": "torch-fidelity's --feature-extractor is --embedder here (`frechet embedders`)",
    "--feature-layer-fid": "torch-fidelity's --feature-layer-fid is --layer here (`frechet embedders NAME` lists "
                           "the outputs)",
    "--dataset_name": "clean-fid's dataset statistics are ref:NAME inputs here (`frechet refs` lists them)",
    "--input1": "torch-fidelity's --input1 and --input2 are the positional inputs here: `frechet compute INPUT1 "
                "INPUT2` (the reference first)",
    "--input2": "torch-fidelity's --input1 and --input2 are the positional inputs here: `frechet compute INPUT1 "
                "INPUT2` (the reference first)",
    "--fid": "torch-fidelity's --fid is --metrics fid here (several: --metrics fid,is,kid)",
    "--isc": "torch-fidelity's --isc is --metrics is here (several: --metrics fid,is,kid)",
    "--kid": "torch-fidelity's --kid is --metrics kid here (several: --metrics fid,is,kid)",
    "--prc": "torch-fidelity's --prc is --metrics pr here (several: --metrics fid,pr)",
    "--isc-splits": "--isc-splits is --metric-option is_splits=N here",
    "--rng-seed": "--rng-seed is --seed here",
    "--verbose": "frechet shows progress by default; --quiet turns it off",
    "--silent": "--silent is --quiet here",
}

_FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
_INVALID_COMMAND = re.compile(r"argument COMMAND: invalid choice: '([^']*)'")


def hint(message: str, argv: Sequence[str], commands: Sequence[str]) -> str:
    """What to do instead, for the usage error ``message`` of the command line ``argv`` (without the program), or
    nothing when there is no better advice than the help."""
    invalid = _INVALID_COMMAND.search(message)
    if invalid:
        return _command_hint(invalid.group(1), argv, commands)
    for flag in _FLAG.findall(message.partition(":")[2]):
        if flag.split("=")[0] in PEER_FLAGS:
            return PEER_FLAGS[flag.split("=")[0]]
    return ""


def _command_hint(given: str, argv: Sequence[str], commands: Sequence[str]) -> str:
    close = difflib.get_close_matches(given, list(commands), n=1)
    if close:
        return f"did you mean `frechet {close[0]}`?"
    inputs = [arg for arg in argv if not arg.startswith("-")]
    shown = " ".join(inputs[:2]) if inputs else given
    return f"a command comes first; to score inputs: `frechet compute {shown}`"
