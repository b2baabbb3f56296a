"""The Embedder contract: what a backbone plugin provides so the runner can turn items into feature vectors.

A class says what it is (name, domain, outputs, options, description) in class attributes, so
``register(MyEmbedder)`` is the whole registration; the core checks options against the declaration before the
class is built and moves every module the embedder holds between devices.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, ClassVar

import torch

from frechet.errors import ConfigError
from frechet.options import Option, parse_options
from frechet.precision import DEFAULT_PRECISION, check_precision
from frechet.weights import WeightsSpec

__all__ = ["Embedder", "Option"]


class Embedder(ABC):
    """Maps items of one domain (images, audio clips, feature rows, …) to named feature outputs.

    ``transform`` runs per item on the CPU (in DataLoader workers when ``parallel_transform``); ``collate`` joins
    transformed items into a batch; ``forward`` runs the batch on ``device`` and returns one (B, dims) tensor per
    output. ``id()`` names everything that changes the numbers, so statistics from different settings never mix.
    """

    #: Registry name, e.g. "inception".
    name: ClassVar[str]
    #: Input domain; sources of the same domain feed it ("image", "audio", "features", …).
    domain: ClassVar[str]
    #: Output name -> feature dimension (None where it depends on the input or the model: the instance then sets
    #: its own ``outputs`` in ``__init__``).
    outputs: Mapping[str, int | None] = {}
    #: The output the Fréchet distance uses unless another is chosen.
    default_output: str
    #: One line for ``frechet embedders`` (default: the first line of the class docstring).
    description: ClassVar[str] = ""
    #: How messages name this embedder where its name alone does not say which one (a family member such as
    #: ``torchscript:model.pt`` sets it); empty: the name.
    label: str = ""
    #: Other names the embedder answers to.
    aliases: ClassVar[tuple[str, ...]] = ()
    #: The options ``__init__`` takes, checked and parsed by the core before the embedder is built; None passes
    #: options through unchecked (for an embedder that forwards them to code it does not know, e.g. a factory).
    options: ClassVar[tuple[Option, ...] | None] = ()
    #: True for a family addressed as ``name:TARGET`` (e.g. ``torchscript:model.pt``); ``__init__`` gets ``target``.
    family: ClassVar[bool] = False
    #: True when building the embedder runs code from a file or module the user names (TorchScript, ``python:``).
    runs_user_code: ClassVar[bool] = False
    #: Weights files this embedder may fetch through the weights store.
    weights: Sequence[WeightsSpec] = ()
    #: The domain's name for the Fréchet distance, reported beside "fd" (e.g. "fid", "fad"); None for no alias.
    fd_key: ClassVar[str | None] = None
    #: Options of the FD metric this embedder's mode computes its distance with (e.g. {"fd_covariance":
    #: "population"}); they apply where the user sets none, and are recorded in saved statistics.
    fd_options: Mapping[str, Any] = {}
    #: True when one item yields several examples: ``transform`` then returns a (k, ...) stack and batches concatenate.
    multiple_examples: ClassVar[bool] = False
    #: Whether ``transform`` is heavy enough to run in DataLoader worker processes (decoding, resizing).
    parallel_transform: ClassVar[bool] = True
    #: True when ``transform`` is the identity on a float64 feature row and ``collate`` stacks: a block of rows that a
    #: source reads at once (``Source.row_blocks``) is then this embedder's batch as it is, read in large blocks.
    takes_row_blocks: ClassVar[bool] = False
    #: Whether the feature cache keeps this embedder's results (False for embedders cheaper than reading a cache).
    cacheable: ClassVar[bool] = True
    #: The outputs the runner will read from ``forward`` (None: all); see :meth:`request_outputs`.
    requested_outputs: frozenset[str] | None = None
    #: Precisions the forward pass may run in (``frechet.precision``); ("fp32",) when autocast cannot reach it.
    precisions: tuple[str, ...] = ("fp32", "bf16")
    #: The precision the runner runs ``forward`` in (see :meth:`set_precision`).
    precision: str = DEFAULT_PRECISION

    def __init__(self) -> None:
        self.device = torch.device("cpu")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A class that declares its options and defines ``__init__`` gets them parsed and checked on the way in,
        however it is built (by name through the registry, or directly from Python with strings or values)."""
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__ and "options" in cls.__dict__ and cls.options is not None:
            cls.__init__ = _parsing_options(cls.__dict__["__init__"], cls)

    @abstractmethod
    def transform(self, item: Any) -> torch.Tensor:
        """Preprocess one decoded item on the CPU into the model's input (one example, or k when multiple)."""

    def transforms_batches(self) -> bool:
        """True when :meth:`transform_batch` gives the model's input for a whole in-memory batch at once."""
        return False

    def transform_batch(self, items: Any) -> torch.Tensor:
        """The collated model input of a batch a source gives at once (:meth:`frechet.sources.Source.load_batch`,
        e.g. uint8 (N, 3, H, W) images on their own device), equal to ``collate`` of ``transform`` of each item.
        Only called when :meth:`transforms_batches` is True."""
        raise NotImplementedError(f"{type(self).__name__} transforms one item at a time")

    def collate(self, examples: list[torch.Tensor]) -> torch.Tensor:
        """Join transformed items into one batch (stack, or concatenate when items yield several examples)."""
        return torch.cat(examples) if self.multiple_examples else torch.stack(examples)

    @abstractmethod
    def forward(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run a batch already on ``self.device``; return {output name: (B, dims) tensor}."""

    def cpu_slice_size(self) -> int | None:
        """On the CPU, the most items per slice when ``forward`` may run on slices of a batch at once from several
        threads: each item's features independent of the rest of its batch, and ``forward`` safe to call
        concurrently once it has run once. Each slice runs with one intra-op thread, as many at a time as the caller
        has (``frechet.slices``). None (the default): the batch runs whole."""
        return None

    def request_outputs(self, outputs: Collection[str]) -> None:
        """Called by the runner before embedding an input: only ``outputs`` will be read, so ``forward`` may skip
        work the others need (e.g. stop a network early). ``forward`` must still return at least these."""
        self.requested_outputs = frozenset(outputs)

    def config(self) -> dict[str, Any]:
        """Settings that change the numbers (weights identity, preprocessing, resize, options); part of ``id()``."""
        return {}

    def full_config(self) -> dict[str, Any]:
        """``config()`` plus the forward pass's precision when it is not fp32: everything ``id()`` names."""
        config = self.config()
        return config if self.precision == DEFAULT_PRECISION else {**config, "precision": self.precision}

    def id(self) -> str:
        """A string that changes whenever anything that changes the features changes."""
        settings = ",".join(f"{key}={value}" for key, value in sorted(self.full_config().items()))
        return f"{self.name}({settings})" if settings else self.name

    def set_precision(self, precision: str) -> Embedder:
        """Run ``forward`` in ``precision`` ("fp32" or "bf16", autocast by the runner); part of ``id()`` unless
        fp32. A precision the embedder does not list in ``precisions`` is a ConfigError."""
        name = check_precision(precision)
        if name not in self.precisions:
            raise ConfigError(
                f"embedder '{self.name}' runs in {' or '.join(self.precisions)} only, not --precision {name}"
            )
        self.precision = name
        return self

    def to(self, device: torch.device | str) -> Embedder:
        """Move every module the embedder holds (attributes that are ``torch.nn.Module``s, or embedders it wraps)
        to ``device``; an embedder holding something else that must move overrides this and calls ``super()``."""
        self.device = torch.device(device)
        for value in vars(self).values():
            if isinstance(value, (torch.nn.Module, Embedder)):
                value.to(self.device)
        return self

    def display_name(self) -> str:
        """The name messages use: ``label``, else ``name``."""
        return self.label or self.name

    @classmethod
    def summary(cls) -> str:
        """The one-line description: ``description``, else the first line of the class docstring."""
        if cls.description:
            return cls.description
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0].strip() if doc else ""

    def output_dim(self, output: str) -> int | None:
        """Dimension of one output, checking the name."""
        if output not in self.outputs:
            raise ConfigError(
                f"embedder '{self.name}' has no output '{output}'; choose one of {', '.join(self.outputs)}"
            )
        return self.outputs[output]


def _parsing_options(init: Callable[..., None], cls: type[Embedder]) -> Callable[..., None]:
    """``init`` with its keyword options parsed by ``cls.options`` first (values already parsed pass unchanged).
    Errors name the class being built, so subclasses sharing one ``__init__`` (one per model size) name themselves
    and a base class may declare the options its registered subclasses share."""
    declared = cls.options

    @functools.wraps(init)
    def parsing_init(self: Embedder, *args: Any, **options: Any) -> None:
        built = type(self)
        name = f"{built.name}:" if built.family else built.name
        target = options.pop("target", None)
        init(self, *args, **parse_options(name, declared, options, target=target, defaults=False))

    return parsing_init
