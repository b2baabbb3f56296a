"""Usage errors a user coming from pytorch-fid, clean-fid or torch-fidelity meets get a one-line hint in frechet's
words, and point to the help of the command that was used."""

from __future__ import annotations

import pytest

from frechet.cli import build_parser, main
from frechet.cli.hints import PEER_FLAGS
from frechet.errors import ConfigError
from frechet.plugins import get_registry


def _error(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("frechet: error: ")
    return err


@pytest.mark.parametrize(("argv", "advice"), [
    (["compute", "a/", "b/", "--dims", "768"], "--dims is --layer here"),
    (["compute", "a/", "b/", "--num-workers", "4"], "--workers N here"),
    (["stats", "a/", "-o", "a.npz", "--num_workers", "4"], "--workers N here"),
    (["compute", "a/", "b/", "--fid", "--isc"], "--fid is --metrics fid here"),
    (["compute", "a/", "b/", "--kid"], "--kid is --metrics kid here"),  # argparse: ambiguous with --kid-subsets
    (["compute", "--input1", "a/", "--input2", "b/"], "are the positional inputs here"),
    (["compute", "a/", "b/", "--mode", "clean"], "--mode is --preprocess here"),
    (["compute", "a/", "b/", "--gpu", "0"], "--device cuda:N here"),
])
def test_a_peer_tools_flag_gets_frechets_equivalent_and_the_commands_help(capsys, argv, advice):
    err = _error(capsys, *argv)
    assert advice in err and err.rstrip().endswith(f"(see `frechet {argv[0]} --help`)")


def test_every_hint_names_flags_and_commands_frechet_has():
    parser = build_parser()
    commands = parser._subcommands()
    flags = {option for sub in commands.values() for action in sub._actions for option in action.option_strings}
    assert not set(PEER_FLAGS) & flags  # a flag frechet has is never hinted away
    for advice in PEER_FLAGS.values():
        for word in advice.replace("`", " ").replace(",", " ").replace(")", " ").split():
            if word.startswith("--") and word not in PEER_FLAGS:  # the peer's own flags aside
                assert word in flags, (word, advice)
        for command in [part.split()[0].split("`")[0] for part in advice.split("`frechet ")[1:]]:
            assert command in commands, advice


def test_inputs_without_a_command_suggest_compute(capsys):
    err = _error(capsys, "real/", "fake/")
    assert "to score inputs: `frechet compute real/ fake/`" in err


def test_a_misspelt_command_gets_did_you_mean(capsys):
    assert "did you mean `frechet compute`?" in _error(capsys, "comptue", "a/", "b/")


def test_an_unknown_flag_points_to_the_commands_own_help(capsys):
    err = _error(capsys, "distance", "a.npz", "b.npz", "--weights", "x.pth")
    assert "unrecognized arguments: --weights x.pth (see `frechet distance --help`)" in err


@pytest.mark.parametrize(("lookup", "name", "near"), [
    ("embedder", "incepton", "inception"), ("embedder", "clip-vitb-32", "clip-vitb32"), ("metric", "kdi", "kid"),
    ("metric", "fidd", "fid"),
])
def test_misspelt_embedder_and_metric_names_get_did_you_mean(lookup, name, near):
    registry = get_registry()
    with pytest.raises(ConfigError, match=f"unknown {lookup} '{name}' \\(did you mean '{near}'\\?\\)"):
        registry.embedder_info(name) if lookup == "embedder" else registry.metric_info(name)


def _examples(parser) -> list[str]:
    text = parser.epilog or ""
    block = text.split("examples:\n", 1)[1].split("\n\n", 1)[0] if "examples:\n" in text else ""
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_every_help_example_parses_and_gives_what_its_embedder_needs():
    import shlex

    parser = build_parser()
    examples = [line for sub in [parser, *parser._subcommands().values()] for line in _examples(sub)]
    assert len(examples) > 20
    for example in examples:
        words = shlex.split(example)
        words = words[words.index("frechet") + 1:]
        args = parser.parse_args(words)
        options = " ".join(words)
        if "dinov2" in (getattr(args, "embedder", None) or ""):  # DINOv2 asks for its file by name
            assert "--weights" in options or "dinov2-vitl14.weights=" in options, example
        if args.command == "distance":
            assert not args.force, example  # --force only where the embedders differ on purpose


def test_positional_help_names_ref_inputs(capsys):
    for command in ("compute", "distance", "report", "stats"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "ref:NAME" in capsys.readouterr().out, command
