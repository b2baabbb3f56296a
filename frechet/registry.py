"""Name -> embedder / source / metric factories, filled by the plugins' register-callback hooks; building an
embedder (options checked against its declaration first) and choosing the source that reads an input."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frechet.embedder import Embedder
from frechet.errors import ConfigError, FrechetError, InputError, PluginError, one_line
from frechet.options import Option, did_you_mean, parameters_as_options, parse_options
from frechet.source_options import check_taken, source_values

if TYPE_CHECKING:
    from frechet.disturbance import Disturbance
    from frechet.metrics.base import Metric
    from frechet.sources import Source

log = logging.getLogger("frechet")


@dataclass(frozen=True)
class EmbedderInfo:
    """A registered embedder: ``factory(**options)`` builds it. A name ending in ':' is a KIND:TARGET family."""

    name: str
    factory: Callable[..., Embedder]
    domain: str
    outputs: Mapping[str, int | None]
    description: str
    aliases: tuple[str, ...] = ()
    plugin: str = ""
    options: tuple[Option, ...] | None = ()
    runs_user_code: bool = False

    @property
    def is_family(self) -> bool:
        return self.name.endswith(":")


@dataclass(frozen=True)
class SourceInfo:
    """A registered input kind: ``factory(input, **options)`` opens it, with the values of the ``options`` it
    declares (``--source-option KEY=VALUE``)."""

    kind: str
    factory: Callable[..., Source]
    domain: str
    suffixes: tuple[str, ...]
    description: str
    directories: bool = False
    accepts: Callable[[Any], bool] | None = None
    plugin: str = ""
    named_only: bool = False
    options: tuple[Option, ...] = ()
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetricInfo:
    """A registered metric: ``factory()`` builds it."""

    name: str
    factory: Callable[[], Metric]
    description: str
    aliases: tuple[str, ...] = ()
    plugin: str = ""


@dataclass(frozen=True)
class DisturbanceInfo:
    """A registered disturbance class (``name:TARGET`` for a family such as ``mix:OTHER``)."""

    name: str
    factory: type[Disturbance]
    domain: str
    unit: str
    description: str
    family: bool = False
    plugin: str = ""
    by_default: bool = True


@dataclass(frozen=True)
class CommandInfo:
    """A plugin's extra ``frechet`` command: ``build(parser)`` adds its arguments and returns its run function."""

    name: str
    build: Callable[[Any], Callable[[Any], int]]
    summary: str
    description: str
    examples: tuple[str, ...] = ()
    plugin: str = ""


@dataclass
class Registry:
    """What the loaded plugins provide, looked up by name or alias."""

    _embedders: dict[str, EmbedderInfo] = field(default_factory=dict)
    _sources: dict[str, SourceInfo] = field(default_factory=dict)
    _metrics: dict[str, MetricInfo] = field(default_factory=dict)
    _aliases: dict[str, str] = field(default_factory=dict)
    _metric_aliases: dict[str, str] = field(default_factory=dict)
    _disturbances: dict[str, DisturbanceInfo] = field(default_factory=dict)
    _commands: dict[str, CommandInfo] = field(default_factory=dict)

    # ---------------------------------------------------------------- registration (plugins call these)
    def add_embedder(
        self,
        name: str | type[Embedder],
        factory: Callable[..., Embedder] | None = None,
        *,
        domain: str | None = None,
        outputs: Mapping[str, int | None] | None = None,
        description: str | None = None,
        aliases: Sequence[str] | None = None,
        options: Sequence[Option] | None = None,
        plugin: str = "",
    ) -> None:
        """Register an Embedder class (``register(MyEmbedder)``: name, domain, outputs, description, aliases and
        options are read from it), or a factory under ``name`` with the rest given by keyword (its options then
        checked against the factory's parameters, unless ``options`` declares them)."""
        if isinstance(name, type) and issubclass(name, Embedder):
            info = _info_of_class(name, plugin, description=description, aliases=aliases)
        elif isinstance(name, type) or factory is None or domain is None or description is None:
            raise PluginError(
                f"plugin '{plugin}': register an Embedder subclass, or give name, factory, domain= and description="
            )
        else:
            info = EmbedderInfo(
                name, factory, domain, dict(outputs or {}), description, tuple(aliases or ()), plugin,
                None if options is None else tuple(options),
            )
        _check_name(info.name, "embedder", plugin)
        taken = [n for n in (info.name, *info.aliases) if n in self._embedders or n in self._aliases]
        if taken:
            owner = self._embedders.get(self._aliases.get(taken[0], taken[0]))
            raise PluginError(
                f"plugin '{plugin}': embedder name '{taken[0]}' is already registered by plugin "
                f"'{owner.plugin if owner else '?'}'; rename it or uninstall one of them"
            )
        self._embedders[info.name] = info
        for alias in info.aliases:
            self._aliases[alias] = info.name

    def add_source(
        self,
        kind: str,
        factory: Callable[..., Source],
        *,
        domain: str,
        suffixes: tuple[str, ...] | list[str] = (),
        description: str,
        directories: bool = False,
        accepts: Callable[[Any], bool] | None = None,
        plugin: str = "",
        named_only: bool = False,
        options: Sequence[Option] = (),
        names: Sequence[str] = (),
    ) -> None:
        """Register an input kind reading files with ``suffixes``, folders, or accepted in-memory objects; with
        ``named_only``, files and folders only when named as ``KIND:PATH`` (never chosen for a plain path).
        ``options`` declares the source options its factory takes by keyword. A ``named_only`` kind with ``names``
        reads named data sets instead of paths: ``KIND:NAME`` for one of ``names`` (``moses:train``)."""
        _check_name(kind, "source", plugin)
        if kind in self._sources:
            raise PluginError(f"plugin '{plugin}': source kind '{kind}' is already registered")
        _check_source_options(kind, options, plugin)
        if names and not named_only:
            raise PluginError(f"plugin '{plugin}': source kind '{kind}' reads named data sets: register it "
                              "with named_only=True")
        normalized = tuple(s.lower() if s.startswith(".") else f".{s.lower()}" for s in suffixes)
        self._sources[kind] = SourceInfo(kind, factory, domain, normalized, description, directories, accepts, plugin,
                                         named_only, tuple(options), tuple(names))

    def add_metric(
        self,
        name: str,
        factory: Callable[[], Metric],
        *,
        description: str,
        aliases: tuple[str, ...] | list[str] = (),
        plugin: str = "",
    ) -> None:
        """Register a metric factory under ``name`` (and ``aliases``)."""
        _check_name(name, "metric", plugin)
        names = [name, *aliases]
        taken = [n for n in names if n in self._metrics or n in self._metric_aliases]
        if taken:
            raise PluginError(f"plugin '{plugin}': metric name '{taken[0]}' is already registered")
        self._metrics[name] = MetricInfo(name, factory, description, tuple(aliases), plugin)
        for alias in aliases:
            self._metric_aliases[alias] = name

    def add_disturbance(self, cls: type[Disturbance], *, plugin: str = "") -> None:
        """Register a Disturbance class; name, domain, unit, description and family are read from it."""
        from frechet.disturbance import Disturbance

        if not (isinstance(cls, type) and issubclass(cls, Disturbance)):
            raise PluginError(f"plugin '{plugin}': register a frechet.disturbance.Disturbance subclass, got {cls!r}")
        name, domain, unit = (getattr(cls, attribute, None) for attribute in ("name", "domain", "unit"))
        if not all(isinstance(value, str) for value in (name, domain, unit)):
            raise PluginError(f"plugin '{plugin}': disturbance class {cls.__name__} must set name, domain and unit")
        _check_name(name, "disturbance", plugin)
        if (name, domain) in {(info.name, info.domain) for info in self._disturbances.values()}:
            raise PluginError(f"plugin '{plugin}': disturbance '{name}' for {domain} inputs is already registered")
        description = cls.description or (cls.__doc__ or "").strip().split("\n")[0]
        self._disturbances[f"{name}/{domain}"] = DisturbanceInfo(name, cls, domain, unit, description, cls.family,
                                                                  plugin, bool(cls.by_default))

    def add_command(
        self,
        name: str,
        build: Callable[[Any], Callable[[Any], int]],
        *,
        summary: str,
        description: str,
        examples: Sequence[str] = (),
        plugin: str = "",
    ) -> None:
        """Register an extra ``frechet NAME`` command; ``build(parser)`` adds its arguments and returns its run
        function."""
        _check_name(name, "command", plugin)
        if name in self._commands or not callable(build):
            raise PluginError(f"plugin '{plugin}': command '{name}' is already registered or has no build function")
        self._commands[name] = CommandInfo(name, build, summary, description, tuple(examples), plugin)

    # ---------------------------------------------------------------- lookup
    def commands(self) -> list[CommandInfo]:
        """The plugins' extra commands, in registration order."""
        return list(self._commands.values())

    def embedders(self) -> list[EmbedderInfo]:
        """All registered embedders in registration order."""
        return list(self._embedders.values())

    def sources(self) -> list[SourceInfo]:
        """All registered sources in registration order."""
        return list(self._sources.values())

    def metrics(self) -> list[MetricInfo]:
        """All registered metrics in registration order."""
        return list(self._metrics.values())

    def disturbances(self, domain: str | None = None) -> list[DisturbanceInfo]:
        """The registered disturbances (those that apply to ``domain`` when given), in registration order."""
        from frechet.disturbance import ANY_DOMAIN

        return [info for info in self._disturbances.values() if domain is None or info.domain in (domain, ANY_DOMAIN)]

    def create_disturbance(
        self, spec: str, domain: str, source_options: Mapping[str, Any] | None = None
    ) -> Disturbance:
        """The disturbance ``spec`` (``name``, or ``name:TARGET`` for a family) for inputs of ``domain``; a family's
        TARGET is opened with ``source_options``."""
        name, colon, target = spec.partition(":")
        matches = [info for info in self.disturbances(domain) if info.name == name.strip()]
        if not matches:
            known = ", ".join(info.name + (":OTHER" if info.family else "") for info in self.disturbances(domain))
            raise ConfigError(f"unknown disturbance '{spec}' for {domain} inputs; available: {known or 'none'}")
        info = matches[0]
        if info.family != bool(colon) or (colon and not target.strip()):
            form = f"{info.name}:OTHER (OTHER: an input)" if info.family else info.name
            raise ConfigError(f"disturbance '{spec}': write it as {form}")
        try:
            if info.family:
                return info.factory(target=target.strip(),
                                    open_source=lambda value: self.open_source(value, domain, source_options))
            return info.factory()
        except FrechetError:
            raise
        except Exception as error:  # a plugin's own code may fail in any way: one line, never a traceback
            raise PluginError(
                f"disturbance '{spec}' (plugin '{info.plugin}') failed to build: {one_line(error)}"
            ) from None

    def embedder_info(self, name: str) -> tuple[EmbedderInfo, str | None]:
        """The entry for ``name`` or an alias, and the TARGET part for ``KIND:TARGET`` family names."""
        key = self._aliases.get(name, name)
        if key in self._embedders:
            return self._embedders[key], None
        if ":" in name:
            kind, target = name.split(":", 1)
            family = self._embedders.get(f"{kind}:")
            if family is not None:
                if not target:
                    raise ConfigError(f"embedder '{name}' needs a target after ':' (e.g. {kind}:PATH)")
                return family, target
        known = [*self._embedders, *self._aliases]
        raise ConfigError(f"unknown embedder '{name}'{did_you_mean(name, known)}; installed: "
                          f"{', '.join(self._embedder_names())}")

    def describe_embedder(self, name: str) -> EmbedderInfo:
        """The entry for ``name``, an alias, or a family (``torchscript``, ``torchscript:`` or ``torchscript:PATH``)."""
        family = self._embedders.get(name.split(":", 1)[0] + ":")
        if family is not None and self._aliases.get(name, name) not in self._embedders:
            return family
        return self.embedder_info(name)[0]

    def create_embedder(self, name: str, /, **options: Any) -> Embedder:
        """Build the embedder ``name`` with ``options``, checked against its declared options first (``target`` is
        filled in for KIND:TARGET names). Anything the plugin's code raises becomes one error naming the embedder."""
        info, target = self.embedder_info(name)
        declared = info.options if info.options is not None else parameters_as_options(info.factory, info.name)
        parsed = parse_options(info.name, declared, options, target=target)
        try:
            embedder = info.factory(**parsed)
        except FrechetError:
            raise
        except (Exception, SystemExit) as error:  # a plugin's own code may fail in any way, even by sys.exit()
            raise PluginError(
                f"embedder '{name}' (plugin '{info.plugin}') failed to build: {_failure(error)}"
            ) from None
        if not isinstance(embedder, Embedder):
            raise PluginError(f"embedder '{name}' (plugin '{info.plugin}'): its factory returned "
                              f"{type(embedder).__name__}, not a frechet.Embedder")
        return embedder

    def source_info(self, kind: str) -> SourceInfo:
        """The entry for source ``kind``."""
        if kind not in self._sources:
            raise ConfigError(f"unknown source kind '{kind}'; installed: {', '.join(self._sources) or 'none'}")
        return self._sources[kind]

    def metric_info(self, name: str) -> MetricInfo:
        """The entry for metric ``name`` or an alias."""
        key = self._metric_aliases.get(name.lower(), name.lower())
        if key not in self._metrics:
            known = sorted([*self._metrics, *self._metric_aliases])
            raise ConfigError(f"unknown metric '{name}'{did_you_mean(name.lower(), known)}; available: "
                              f"{', '.join(known)}")
        return self._metrics[key]

    def _embedder_names(self) -> list[str]:
        return [info.name + ("TARGET" if info.is_family else "") for info in self._embedders.values()] or ["none"]

    # ---------------------------------------------------------------- inputs
    def named_kind(self, input: Any) -> tuple[SourceInfo, str] | None:
        """For a ``KIND:PATH`` string whose KIND is a registered source kind (``webtoon:episodes/``): that source
        and PATH; None for any other input (a plain path keeps meaning what its file or folder holds)."""
        if not isinstance(input, str):
            return None
        kind, colon, path = input.partition(":")
        info = self._sources.get(kind)
        if not colon or info is None or not (info.named_only or info.directories or info.suffixes):  # in memory only
            return None
        return info, path

    def input_path(self, input: Any) -> Path | None:
        """The file or folder an input names (PATH of ``KIND:PATH``), or None for an in-memory object or a named
        data set (``KIND:NAME``)."""
        named = self.named_kind(input)
        if named is not None:
            return None if named[0].names else Path(named[1])
        return Path(input) if isinstance(input, (str, Path)) else None

    def source_for(self, input: Any, domain: str) -> SourceInfo:
        """The source kind that reads ``input`` (path, folder, ``KIND:PATH`` or in-memory object) for an embedder
        of ``domain``, without opening it."""
        named = self.named_kind(input)
        return self._named_source(input, *named, domain) if named else self._choose_source(input, domain)

    def open_source(self, input: Any, domain: str, options: Mapping[str, Any] | None = None) -> Source:
        """The source that reads ``input`` for an embedder of ``domain`` (see :meth:`source_for`), opened with the
        run's source ``options`` that its kind declares (recorded in its ``source_options``); what the source's
        code raises beyond frechet's own errors is one error naming the input and the source."""
        info = self.source_for(input, domain)
        named = self.named_kind(input)
        values = source_values(info.kind, info.options, options or {})
        try:
            source = info.factory(named[1] if named else input, **values)
        except FrechetError:
            raise
        except (Exception, SystemExit) as error:
            raise PluginError(f"{_label(input)}: source '{info.kind}' (plugin '{info.plugin}') cannot open it: "
                              f"{_failure(error)}") from None
        source.source_options = values
        return source

    def check_source_options(
        self, inputs: Iterable[Any], domain: str, options: Mapping[str, Any], *, read: Iterable[SourceInfo] = ()
    ) -> list[SourceInfo]:
        """The source kinds of ``inputs``; a ConfigError for a source option that none of them (nor the kinds
        ``read`` already) declares (see :func:`frechet.source_options.check_taken`)."""
        infos = [*read, *(self.source_for(input, domain) for input in inputs)]
        if options:
            check_taken(options, {info.kind: info.options for info in infos},
                        ((info.kind, info.options) for info in self.sources()))
        return infos

    def _named_source(self, input: str, info: SourceInfo, path: str, domain: str) -> SourceInfo:
        if info.names:
            if path not in info.names:
                raise InputError(f"{input}: no data set {path!r} among the '{info.kind}' inputs"
                                 f"{did_you_mean(path, info.names)}; they are {', '.join(info.names)}")
        elif not path:
            raise InputError(f"{input}: name a file or folder after '{info.kind}:'")
        elif not Path(path).exists():
            raise InputError(f"{path}: no such file or folder (named by {input})")
        if info.domain != domain:
            raise InputError(f"{input}: '{info.kind}' inputs are {info.domain} inputs, but the embedder expects "
                             f"{domain} inputs; choose an embedder of that domain (see `frechet embedders`)")
        return info

    def _choose_source(self, input: Any, domain: str) -> SourceInfo:
        candidates = [info for info in self.sources() if not info.named_only]
        if isinstance(input, (str, Path)):
            path = Path(input)
            if path.is_dir():
                matches = [info for info in candidates if info.directories]
                what = "folders"
            elif path.exists():
                suffix = path.suffix.lower()
                matches = [info for info in candidates if suffix in info.suffixes]
                what = f"'{suffix or path.name}' files"
            else:
                raise InputError(f"{path}: no such file or folder")
        else:
            matches = [info for info in candidates if info.accepts is not None and info.accepts(input)]
            what = f"{type(input).__name__} objects"
        for info in matches:
            if info.domain == domain:
                return info
        if matches and isinstance(input, (str, Path)):
            others = ", ".join(sorted({info.domain for info in matches}))
            raise InputError(
                f"{_label(input)}: {what} hold {others} inputs, but the embedder expects {domain} inputs; "
                "choose an embedder of that domain (see `frechet embedders`)"
            )
        if not isinstance(input, (str, Path)):
            takes = "; ".join(info.description for info in candidates if info.domain == domain and info.accepts)
            raise InputError(
                f"{_label(input)}: the embedder reads {domain} inputs, and no installed {domain} source reads this "
                f"object; in memory, {domain} inputs are: {takes or 'none'}"
            )
        readable = sorted({suffix for info in candidates if info.domain == domain for suffix in info.suffixes})
        hint = f" (readable: {', '.join(readable)})" if readable else ""
        raise InputError(f"{_label(input)}: no installed source reads {what} for {domain} embedders{hint}")


def _info_of_class(
    cls: type[Embedder], plugin: str, *, description: str | None, aliases: Sequence[str] | None
) -> EmbedderInfo:
    name = getattr(cls, "name", None)
    domain = getattr(cls, "domain", None)
    if not isinstance(name, str) or not isinstance(domain, str):
        raise PluginError(f"plugin '{plugin}': embedder class {cls.__name__} must set the class attributes name and domain")
    return EmbedderInfo(
        f"{name}:" if cls.family else name,
        cls,
        domain,
        dict(cls.outputs),
        cls.summary() if description is None else description,
        tuple(cls.aliases if aliases is None else aliases),
        plugin,
        None if cls.options is None else tuple(cls.options),
        cls.runs_user_code,
    )


def _check_name(name: str, what: str, plugin: str) -> None:
    if not isinstance(name, str) or not name or name != name.strip():
        raise PluginError(f"plugin '{plugin}': invalid {what} name {name!r}")


def _check_source_options(kind: str, options: Sequence[Option], plugin: str) -> None:
    names = [getattr(option, "name", None) for option in options]
    if not all(isinstance(option, Option) for option in options) or len(set(names)) != len(names) or any(
            not name or "." in name or "=" in name for name in names):
        raise PluginError(f"plugin '{plugin}': source kind '{kind}': options must be frechet.options.Option objects "
                          "with distinct names, without '.' or '='")


def _label(input: Any) -> str:
    if isinstance(input, (str, Path)):
        return str(input)
    shape = getattr(input, "shape", None)
    return f"<{type(input).__name__} {tuple(shape)}>" if shape is not None else f"<{type(input).__name__}>"


def _failure(error: BaseException) -> str:
    if isinstance(error, SystemExit):
        return f"it called sys.exit({error.code!r})"
    return one_line(error)
