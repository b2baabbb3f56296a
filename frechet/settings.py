"""Settings: everything a run is told, in one object built by keyword and checked once where it is made.

The command line and the Python API only map their arguments onto it; every stage reads it. Errors name the
setting as the caller wrote it (``--batch-size`` on the command line, ``batch_size=`` from Python).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from frechet.caller import spell, spell_embedder_option
from frechet.errors import ConfigError
from frechet.options import did_you_mean
from frechet.precision import DEFAULT_PRECISION, check_precision

#: Items per shard unless chosen otherwise: the unit of caching, of resuming and of distribution across ranks.
DEFAULT_SHARD_SIZE = 4096
#: Seed for sampling metrics; torch-fidelity's, so sampled values (IS shuffle, KID subsets) match it by default.
DEFAULT_SEED = 2020
#: The largest seed: the sampling metrics draw with numpy.random.RandomState, which takes 0 … 2**32 − 1.
MAX_SEED = 2**32 - 1
#: The kinds of device a run can use.
RUN_DEVICES = ("cpu", "cuda", "mps")
DEFAULT_BATCH_SIZE = 64


@dataclass(frozen=True, kw_only=True)
class Settings:
    """How to run: which embedders and metrics with which options, how to batch, where, and what to keep.

    ``embedder`` is one name, several (a sequence or ``"a,b"``), or None to infer it from the inputs; with several,
    each embedder option is named ``EMBEDDER.OPTION``. ``metrics`` likewise. ``source_options`` go to every input
    whose source kind declares them (``frechet sources``); one that no input of the run takes is an error.
    ``workers`` None: chosen from the core count; ``device`` None: cuda, then mps, then cpu; ``progress`` None: only on a terminal; ``cache_dir`` None:
    ``FRECHET_CACHE_DIR`` or the user cache folder. ``reuse_large_allocations`` lets glibc keep a CPU forward
    pass's freed activations (the ``frechet`` command sets it; library callers own their process's allocator).
    """

    embedder: tuple[str, ...] | None = None
    embedder_options: Mapping[str, Any] = field(default_factory=dict)
    layer: str | None = None
    metrics: tuple[str, ...] = ("fd",)
    metric_options: Mapping[str, Any] = field(default_factory=dict)
    source_options: Mapping[str, Any] = field(default_factory=dict)
    batch_size: int = DEFAULT_BATCH_SIZE
    device: str | None = None
    workers: int | None = None
    skip_bad: bool = False
    progress: bool | None = None
    cache: bool = True
    cache_dir: Path | None = None
    shard_size: int = DEFAULT_SHARD_SIZE
    precision: str = DEFAULT_PRECISION
    seed: int = DEFAULT_SEED
    force: bool = False
    save_stats: Path | None = None
    reuse_large_allocations: bool = False

    def __post_init__(self) -> None:
        fix = self._fix
        if self.embedder is not None:
            fix("embedder", _names("embedder", self.embedder))
        fix("metrics", _names("metrics", self.metrics))
        fix("embedder_options", _mapping("embedder_options", self.embedder_options))
        fix("metric_options", _mapping("metric_options", self.metric_options))
        fix("source_options", _mapping("source_options", self.source_options))
        for name in ("batch_size", "shard_size"):
            fix(name, _whole(name, getattr(self, name), minimum=1))
        if self.workers is not None:
            fix("workers", _whole("workers", self.workers, minimum=0))
        fix("seed", _whole("seed", self.seed, minimum=0, maximum=MAX_SEED))
        for name in ("skip_bad", "cache", "force", "reuse_large_allocations"):
            fix(name, _flag(name, getattr(self, name)))
        if self.progress is not None:
            fix("progress", _flag("progress", self.progress))
        if self.layer is not None and not isinstance(self.layer, str):
            raise ConfigError(f"{spell('layer', self.layer)} must be a name")
        if self.device is not None:
            _device(self.device)
        for name in ("cache_dir", "save_stats"):
            if getattr(self, name) is not None:
                fix(name, _path(name, getattr(self, name)))
        try:
            fix("precision", check_precision(self.precision))
        except ConfigError:
            raise ConfigError(f"{spell('precision', self.precision)} is not known; choose one of fp32, bf16") from None
        if self.embedder is not None and len(self.embedder) > 1 and self.layer is not None:
            raise ConfigError(f"{spell('layer', self.layer)} picks one embedder's output; with several embedders, "
                              "each uses its default output")

    def _fix(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)  # the checked, normalized value of a frozen field

    def options_for(self, embedder: str) -> dict[str, Any]:
        """The embedder options meant for ``embedder``: every option when it is the only one (``EMBEDDER.OPTION``
        accepted too), else those named ``EMBEDDER.OPTION``."""
        several = self.embedder is not None and len(self.embedder) > 1
        chosen = {}
        for key, value in self.embedder_options.items():
            prefix, dot, name = key.rpartition(".")
            if not dot:
                if several:
                    raise ConfigError(
                        f"{spell_embedder_option(key, value)}: with several embedders, name the one it is for, e.g. "
                        f"{spell_embedder_option(f'{self.embedder[0]}.{key}', value)}"
                    )
                chosen[key] = value
            elif prefix == embedder:
                chosen[name] = value
            elif self.embedder is not None and prefix not in self.embedder:
                raise ConfigError(f"{spell_embedder_option(key, value)} names embedder '{prefix}', which this run "
                                  f"does not use ({', '.join(self.embedder)})")
        return chosen


def _names(name: str, value: Any) -> tuple[str, ...]:
    """A comma-separated string or a sequence of strings -> a tuple of names, without blanks or repeats."""
    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, Sequence) and all(isinstance(part, str) for part in value):
        parts = list(value)
    else:
        raise ConfigError(f"{spell(name, value)} must be a name, a list of names or a comma-separated string")
    names = tuple(dict.fromkeys(part.strip() for part in parts if part.strip()))
    if not names:
        raise ConfigError(f"{spell(name, value)} names nothing; give at least one (see `frechet {name}`)")
    return names


def _mapping(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise ConfigError(f"{spell(name, value)} must be a mapping of option names to values")
    return dict(value)


def _whole(name: str, value: Any, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{spell(name, value)} is not valid: it must be a whole number ≥ {minimum}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{spell(name, value)} is not valid: it must be a whole number from {minimum} to {maximum}")
    return value


def _device(value: Any) -> str:
    """A device name torch parses, of a kind frechet runs on (whether it is present here is checked when the run
    picks it)."""
    if not isinstance(value, str):
        raise ConfigError(f"{spell('device', value)} must be a name (cpu, cuda, cuda:1, mps)")
    import torch  # here, not at import: the command's help and listings never import torch

    try:
        kind = torch.device(value).type
    except (RuntimeError, ValueError):
        raise ConfigError(f"{spell('device', value)} is not a device name (use cpu, cuda, cuda:1, mps)") from None
    if kind not in RUN_DEVICES:
        raise ConfigError(f"{spell('device', value)}: frechet does not run on {kind} devices; use cpu, cuda or mps")
    return value


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{spell(name, value)} is not valid: it must be True or False")
    return value


def _path(name: str, value: Any) -> Path:
    if not isinstance(value, (str, Path)) or not str(value):
        raise ConfigError(f"{spell(name, value)} must be a path")
    return Path(value).expanduser()


def settings_from(keywords: Sequence[str] = (), /, **given: Any) -> Settings:
    """Settings from keyword arguments, as the API functions take them; an unknown name is a ConfigError saying
    which names exist and the closest of them, among the settings and the calling function's own ``keywords``."""
    known = [item.name for item in fields(Settings)]
    for name in given:
        if name not in known:
            hint = did_you_mean(name, [*keywords, *known])
            also = f", besides {', '.join(keywords)}" if keywords else ""
            raise ConfigError(f"unknown setting {name!r}{hint}; the settings are {', '.join(known)}{also}")
    return Settings(**given)
