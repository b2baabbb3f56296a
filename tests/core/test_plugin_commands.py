"""Plugins add ``frechet`` commands through ``frechet_register_commands``: parsed and run like built-in ones, their
errors one line, a built-in command's name refused, and built-in commands parsed without loading any plugin."""

import logging

from frechet.cli import build_parser, main
from frechet.plugins import get_plugins

GREETER = """
    from frechet import hookimpl
    from frechet.errors import InputError

    def build(parser):
        parser.add_argument("name")
        parser.add_argument("--shout", action="store_true")

        def run(args):
            if args.name == "nobody":
                raise InputError("nobody: no one to greet; name someone")
            print(("HELLO " if args.shout else "hello ") + args.name)
            return 0

        return run

    @hookimpl
    def frechet_register_commands(register):
        register("greet", build, summary="greet someone", description="Prints a greeting.",
                 examples=("frechet greet ada",))
        register("stats", build, summary="taken", description="A built-in command's name.")
"""


def test_a_plugin_command_runs_like_a_built_in_one(install_plugin, capsys, caplog):
    install_plugin("greeter", GREETER)
    with caplog.at_level(logging.WARNING, logger="frechet"):
        assert main(["greet", "ada", "--shout"]) == 0
    assert capsys.readouterr().out == "HELLO ada\n"
    assert "plugin 'greeter': command 'stats' is a built-in command's name; left out" in caplog.text
    assert main(["greet", "nobody"]) == 2
    assert capsys.readouterr().err.endswith("\nfrechet: error: nobody: no one to greet; name someone\n")
    assert {"greet": "greeter", "stats": "greeter"}.items() <= {
        command.name: command.plugin for command in get_plugins().registry.commands()}.items()


def test_built_in_commands_are_parsed_without_loading_plugins(install_plugin, monkeypatch):
    install_plugin("greeter", GREETER)
    monkeypatch.setattr("frechet.plugins.get_registry", lambda: (_ for _ in ()).throw(AssertionError("loaded")))
    assert "greet" not in build_parser(["stats", "real/"])._subparsers._group_actions[0].choices
