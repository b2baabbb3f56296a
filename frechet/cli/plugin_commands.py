"""Commands that plugins add to ``frechet`` (``frechet_register_commands``): added to the parser only when the
command line names no built-in command, so that built-in commands never wait for plugins to load."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from frechet.cli.arguments import add_command

log = logging.getLogger("frechet")


def add_plugin_commands(commands: argparse._SubParsersAction, argv: Sequence[str]) -> None:
    """Add the plugins' commands to ``commands`` when ``argv``'s first word is not a built-in command."""
    word = next((arg for arg in argv if not arg.startswith("-")), None)
    if word is None or word in commands.choices:
        return
    from frechet.plugins import get_registry

    for info in get_registry().commands():
        if info.name in commands.choices:
            log.warning("plugin '%s': command '%s' is a built-in command's name; left out", info.plugin, info.name)
            continue
        parser = add_command(commands, info.name, info.summary, info.description, info.examples, "run", None)
        parser.set_defaults(run=info.build(parser))
