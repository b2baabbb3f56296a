"""The listings: ``frechet plugins``, ``embedders``, ``sources``, ``metrics``, ``disturbances``, and the weights
store's ``refs`` and ``weights``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from frechet.cli.arguments import EXIT_ERROR, add_command
from frechet.cli.output import UNKNOWN, json_value, print_table, print_values, printable
from frechet.errors import ConfigError, FrechetError


def add_listings(commands: argparse._SubParsersAction) -> None:
    """``frechet plugins``, ``embedders``, ``sources``, ``metrics`` and ``disturbances``."""
    plugins = add_command(
        commands, "plugins", "list installed plugins",
        "Installed plugins: loaded, disabled by FRECHET_PLUGINS, or failed (and why), with the hooks they implement. "
        "Plugins are Python code that runs with your permissions whenever frechet starts: install only ones you "
        "trust.",
        ["frechet plugins", "FRECHET_PLUGINS=inception frechet plugins", "frechet plugins --json"],
        "plugins", _cmd_plugins,
    )
    embedders = add_command(
        commands, "embedders", "list embedders, or show one with its options",
        "The embedders the plugins registered: domain, outputs (with dimensions) and description. With a NAME, "
        "that embedder's outputs and declared options (type, default, help).",
        ["frechet embedders", "frechet embedders inception", "frechet embedders torchscript"],
        "plugins", _cmd_embedders,
    )
    embedders.add_argument("name", nargs="?", help="show this embedder's outputs and options")
    sources = add_command(
        commands, "sources", "list input kinds, or show one with its options",
        "The input kinds the plugins registered: domain, what each reads (file suffixes, folders, KIND:PATH, named "
        "data sets, in-memory objects), its source options and description. With a KIND, that kind's options "
        "(type, default, help), set with --source-option KEY=VALUE.",
        ["frechet sources", "frechet sources webtoon", "frechet sources --json"],
        "plugins", _cmd_sources,
    )
    sources.add_argument("kind", nargs="?", help="show this input kind's options")
    metrics = add_command(
        commands, "metrics", "list metrics and their options",
        "The metrics the plugins registered, with their aliases, options and defaults.",
        ["frechet metrics", "frechet metrics --json"],
        "plugins", _cmd_metrics,
    )
    disturbances = add_command(
        commands, "disturbances", "list the disturbances of `frechet sanity`",
        "The disturbances the plugins registered: name, domain, what the strength measures, and description.",
        ["frechet disturbances", "frechet disturbances --json"],
        "plugins", _cmd_disturbances,
    )
    for listing in (plugins, embedders, sources, metrics, disturbances):
        listing.add_argument("--json", action="store_true", help="print one JSON object on the last line")


def add_store(commands: argparse._SubParsersAction) -> None:
    """``frechet refs`` and ``frechet weights``: what the weights store can fetch, and what it holds."""
    refs = add_command(
        commands, "refs", "list the named reference statistics (ref:NAME) and their provenance",
        "Published reference statistics usable as ref:NAME wherever a statistics file is: producing tool, dataset, "
        "split, item count, resolution, and the embedder and --preprocess that reproduce them. A full name (or a "
        "single match) shows every field.",
        ["frechet refs", "frechet refs cifar10", "frechet refs adm-imagenet256 --fetch",
         "frechet compute ref:ttur-cifar10-train fake/"],
        "store", _cmd_refs,
    )
    refs.add_argument("pattern", nargs="?", default="", help="only names containing PATTERN (all fields for one)")
    refs.add_argument("--fetch", action="store_true", help="download the listed references' files (verified, pinned)")
    weights = add_command(
        commands, "weights", "the embedders' weights files: present or not, where, verified",
        "Each installed embedder's weights files (or only those of the embedders named): where frechet looks for "
        "them, whether each is there and passes its checksum, and the mirror and offline settings. Copy a file "
        "listed as missing into the weights folder to use frechet without internet. With --fetch, each missing "
        "file is downloaded and verified; a failure does not stop the others, and a summary ends the listing.",
        ["frechet weights", "frechet weights clip-vitb32 --fetch", "frechet weights --fetch",
         "FRECHET_WEIGHTS_DIR=/shared/weights frechet weights"],
        "store", _cmd_weights,
    )
    weights.add_argument("embedders", nargs="*", metavar="EMBEDDER",
                         help="only these embedders' files (`frechet embedders` lists them)")
    weights.add_argument("--fetch", action="store_true",
                         help="download the missing files (verified); exits non-zero if any could not be fetched")
    for listing in (refs, weights):
        listing.add_argument("--json", action="store_true", help="print one JSON object on the last line")


def _cmd_plugins(args: argparse.Namespace) -> int:
    from frechet.plugins import get_plugins, plugin_hooks

    rows = [
        {"name": r.name, "module": r.module, "distribution": r.distribution, "version": r.version,
         "status": r.status, "requires": list(r.requires), "hooks": plugin_hooks(r.name), "error": r.error}
        for r in get_plugins().records
    ]
    if args.json:
        print(json.dumps({"plugins": rows}))
        return 0
    print_table(["NAME", "STATUS", "DISTRIBUTION", "VERSION", "HOOKS / ERROR"],
                [[row["name"], row["status"], row["distribution"] or UNKNOWN, row["version"] or UNKNOWN,
                  row["error"] or ", ".join(hook.removeprefix("frechet_register_").removeprefix("frechet_")
                                              for hook in row["hooks"])]
                 for row in rows])
    return 0


def _cmd_embedders(args: argparse.Namespace) -> int:
    from frechet.plugins import get_registry

    registry = get_registry()
    if args.name:
        return _show_embedder(registry.describe_embedder(args.name), as_json=args.json)
    rows = [_embedder_row(info) for info in registry.embedders()]
    if args.json:
        print(json.dumps({"embedders": rows}))
        return 0
    print_table(["NAME", "DOMAIN", "OUTPUTS", "DESCRIPTION"],
                [[row["name"], row["domain"], _outputs_text(row["outputs"]) or UNKNOWN, row["description"]]
                 for row in rows])
    return 0


def _embedder_row(info: Any) -> dict[str, Any]:
    return {"name": info.name + ("TARGET" if info.is_family else ""), "domain": info.domain,
            "outputs": dict(info.outputs), "aliases": list(info.aliases), "plugin": info.plugin,
            "description": info.description, "runs_user_code": info.runs_user_code,
            "options": None if info.options is None else _option_rows(info.options)}


def _show_embedder(info: Any, *, as_json: bool) -> int:
    row = _embedder_row(info)
    if as_json:
        print(json.dumps({"embedder": row}))
        return 0
    print(f"{row['name']} ({row['domain']}, plugin {row['plugin']}): {row['description']}")
    if row["aliases"]:
        print(f"aliases: {', '.join(row['aliases'])}")
    if row["runs_user_code"]:
        print("runs code from the file or module you name, with your permissions (it can read and write your files): "
              "use only ones you trust; for models from elsewhere, onnx:PATH is the safer format")
    print(f"outputs: {_outputs_text(row['outputs']) or 'found when the model is loaded'}")
    if row["options"] is None:
        print("options: passed on unchecked to the code it runs")
    else:
        _print_options(row["options"], "--embedder-option")
    return 0


def _option_rows(options: Any) -> list[dict[str, Any]]:
    return [{"name": option.name, "type": option.kind, "default": json_value(option.default), "help": option.help}
            for option in options]


def _print_options(rows: list[dict[str, Any]], flag: str) -> None:
    if not rows:
        print("options: none")
        return
    print(f"options ({flag} KEY=VALUE):")
    print_table(["  OPTION", "TYPE", "DEFAULT", "HELP"],
                [[f"  {o['name']}", o["type"], "-" if o["default"] is None else str(o["default"]), o["help"]]
                 for o in rows])


def _cmd_sources(args: argparse.Namespace) -> int:
    from frechet.plugins import get_registry

    registry = get_registry()
    if args.kind:
        row = _source_row(registry.source_info(args.kind.removesuffix(":")))
        if args.json:
            print(json.dumps({"source": row}))
            return 0
        print(f"{row['kind']} ({row['domain']}, plugin {row['plugin']}): {row['description']}")
        print(f"reads: {row['reads']}")
        _print_options(row["options"], "--source-option")
        return 0
    rows = [_source_row(info) for info in registry.sources()]
    if args.json:
        print(json.dumps({"sources": rows}))
        return 0
    print_table(["KIND", "DOMAIN", "READS", "OPTIONS", "DESCRIPTION"],
                [[row["kind"], row["domain"], row["reads"], ", ".join(o["name"] for o in row["options"]) or "-",
                  row["description"]] for row in rows])
    return 0


def _source_row(info: Any) -> dict[str, Any]:
    return {"kind": info.kind, "domain": info.domain, "reads": _reads(info), "suffixes": list(info.suffixes),
            "directories": info.directories, "named_only": info.named_only, "names": list(info.names),
            "in_memory": info.accepts is not None, "plugin": info.plugin, "description": info.description,
            "options": _option_rows(info.options)}


def _reads(info: Any) -> str:
    """What a source kind reads, in words: ``KIND:NAME`` names, ``KIND:PATH`` only, or its suffixes and folders."""
    if info.names:
        return " ".join(f"{info.kind}:{name}" for name in info.names)
    if info.named_only:
        return f"{info.kind}:PATH"
    kinds = [*info.suffixes, *(["folders"] if info.directories else []), *(["in memory"] if info.accepts else [])]
    return " ".join(kinds) or UNKNOWN


def _outputs_text(outputs: dict[str, Any]) -> str:
    return ", ".join(f"{name}({dims})" if dims else name for name, dims in outputs.items())


def _cmd_metrics(args: argparse.Namespace) -> int:
    from frechet.plugins import get_registry

    rows = [
        {"name": i.name, "aliases": list(i.aliases), "plugin": i.plugin, "description": i.description,
         "options": {key: json_value(value) for key, value in i.factory().options.items()}}
        for i in get_registry().metrics()
    ]
    if args.json:
        print(json.dumps({"metrics": rows}))
        return 0
    print_table(["NAME", "ALIASES", "OPTIONS (DEFAULT)", "DESCRIPTION"],
                [[row["name"], ", ".join(row["aliases"]) or "-",
                  ", ".join(f"{key}={value}" for key, value in row["options"].items()) or "-", row["description"]]
                 for row in rows])
    return 0


def _cmd_disturbances(args: argparse.Namespace) -> int:
    from frechet.plugins import get_registry

    rows = [{"name": info.name + (":OTHER" if info.family else ""), "domain": info.domain, "unit": info.unit,
             "plugin": info.plugin, "by_default": info.by_default, "description": info.description}
            for info in get_registry().disturbances()]
    if args.json:
        print(json.dumps({"disturbances": rows}))
        return 0
    print_table(["NAME", "DOMAIN", "STRENGTH", "DESCRIPTION"],
                [[row["name"], row["domain"], row["unit"], row["description"]] for row in rows])
    return 0


def _cmd_refs(args: argparse.Namespace) -> int:
    from frechet import references
    from frechet.weights import weights_dir

    exact = references.CATALOGUE.get(args.pattern.removeprefix(references.PREFIX))
    chosen = [exact] if exact else [ref for name, ref in references.CATALOGUE.items() if args.pattern.lower() in name]
    if not chosen:
        raise ConfigError(f"no reference name contains '{args.pattern}'; `frechet refs` lists them all")
    if args.fetch:
        for reference in chosen:
            references.local_path(reference, progress=not args.json)
    rows = [{**reference.describe(), "cached": references.is_cached(reference)} for reference in chosen]
    if args.json:
        print(json.dumps({"weights_dir": str(weights_dir()), "references": rows}))
    elif len(rows) == 1:
        print_values({**rows[0], "options": " ".join(f"{k}={v}" for k, v in rows[0]["options"].items())},
                     as_json=False)
    else:
        print_table(["NAME", "REPRODUCE WITH", "ITEMS", "RESOLUTION", "DATASET (SPLIT)"],
                    [[f"ref:{row['name']}" + (" *" if row["cached"] else ""), row["reproduce_with"],
                      f"{row['items']:,}" if row["items"] else UNKNOWN, row["resolution"] or UNKNOWN,
                      f"{row['dataset']} ({row['split']})"] for row in rows])
        print("* in the weights folder already")
    return 0


def _cmd_weights(args: argparse.Namespace) -> int:
    from frechet import weights
    from frechet.plugins import get_registry

    registry = get_registry()
    wanted = {registry.describe_embedder(name).name for name in args.embedders}
    rows, failed = [], []
    for info in registry.embedders():
        if wanted and info.name not in wanted:
            continue
        groups: dict[str, list[weights.WeightsSpec]] = {}
        for spec in getattr(info.factory, "weights", ()) or ():
            groups.setdefault(spec.expected_hash or spec.file_name, []).append(spec)  # same sha256: one file
        for specs in groups.values():
            row: dict[str, Any] = {"embedder": info.name, "name": specs[0].name,
                                   "files": [spec.file_name for spec in specs], "urls": [spec.url for spec in specs]}
            if args.fetch and weights.cached_path(specs) is None:
                try:
                    weights.resolve_weights(specs, progress=not args.json, instead=_OWN_FILE)
                    row["fetched"] = True
                except FrechetError as error:
                    row["error"] = str(error)
                    failed.append(row)
            found = weights.file_status(specs)
            rows.append({**row, "status": found.status, "path": str(found.path) if found.path else None})
    if wanted and not rows:
        raise ConfigError(f"{', '.join(sorted(wanted))}: no weights files to list (the embedder needs none, or takes "
                          "its file only from --weights)")
    where = {"weights_dir": str(weights.weights_dir()), "mirror": weights.mirror(), "offline": weights.is_offline()}
    if args.json:
        print(json.dumps({**where, "weights": rows}))
    else:
        print(f"weights folder: {where['weights_dir']}  (${weights.WEIGHTS_DIR_ENV}, else torch hub's checkpoints)")
        print(f"mirror:         {where['mirror'] or UNKNOWN}  (${weights.MIRROR_ENV})")
        print(f"offline:        {'yes' if where['offline'] else 'no'}  (${weights.OFFLINE_ENV})")
        print_table(["EMBEDDER", "FILE", "STATUS", "PATH"],
                    [[row["embedder"], row["files"][0], row["status"], row["path"] or UNKNOWN] for row in rows])
    if args.fetch:
        _fetch_summary(rows, failed)
    return EXIT_ERROR if failed else 0


#: What ``frechet weights --fetch`` tells a user whose file cannot be fetched, besides where to put it.
_OWN_FILE = "give a file of your own to the commands that embed: `frechet compute … --weights PATH`"


def _fetch_summary(rows: list[dict[str, Any]], failed: list[dict[str, Any]]) -> None:
    """On stderr: what --fetch downloaded, and each file it could not, with why (one line each)."""
    fetched = [row["files"][0] for row in rows if row.get("fetched")]
    present = sum(1 for row in rows if not row.get("fetched") and "error" not in row)
    print(f"frechet: fetched {len(fetched)} file{'s' if len(fetched) != 1 else ''}"
          f"{': ' + ', '.join(fetched) if fetched else ''}; {present} already present; {len(failed)} failed",
          file=sys.stderr)
    for row in failed:
        print(f"frechet: error: {row['embedder']} {row['files'][0]}: {printable(row['error'])}", file=sys.stderr)
