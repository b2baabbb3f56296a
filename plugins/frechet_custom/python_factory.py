"""``python:package.module:factory``: an Embedder from any importable factory, the one place frechet imports code
the user names. The factory gets the embedder options; they and the factory's name are part of the id."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

import torch

from frechet.embedder import Embedder
from frechet.errors import ConfigError, FrechetError, PluginError, one_line


class PythonFactoryEmbedder(Embedder):
    """python:package.module:factory -> the Embedder it returns (any domain; runs your code); options go to it.

    The id is extended by the factory's name and the options given."""

    name = "python"
    domain = "any"
    family = True
    runs_user_code = True
    options = None  # passed to the factory as given: it declares its own parameters

    def __init__(self, target: str, **options: Any) -> None:
        super().__init__()
        label = f"python:{target}"
        built = _call(load_factory(target, label), options, label)
        if not isinstance(built, Embedder):
            raise ConfigError(f"{label}: the factory returned {type(built).__name__}, not a frechet.Embedder")
        self.inner = built
        self._target = target
        self._options = {key: str(value) for key, value in options.items()}
        self.domain = built.domain
        self.outputs = built.outputs
        self.default_output = built.default_output
        self.weights = built.weights
        self.fd_key = built.fd_key
        self.multiple_examples = built.multiple_examples
        self.parallel_transform = built.parallel_transform
        self.precisions = built.precisions

    def transform(self, item: Any) -> torch.Tensor:
        return self.inner.transform(item)

    def collate(self, examples: list[torch.Tensor]) -> torch.Tensor:
        return self.inner.collate(examples)

    def forward(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.inner.forward(batch)

    def config(self) -> dict[str, Any]:
        return {"factory": self._target, "embedder": self.inner.id(), **self._options}

    def to(self, device: torch.device | str) -> PythonFactoryEmbedder:
        self.inner.to(device)
        return super().to(self.inner.device)


def load_factory(target: str, label: str) -> Callable[..., Any]:
    """Import ``package.module`` and return its attribute ``factory`` (dotted names reach into classes)."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigError(f"{label}: expected python:package.module:factory (e.g. python:my_models.webtoon:build)")
    try:
        found: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise ConfigError(
            f"{label}: cannot import '{module_name}' ({error}); install it or put its folder on PYTHONPATH"
        ) from None
    except Exception as error:  # the user's module failed while importing
        raise PluginError(f"{label}: importing '{module_name}' raised {one_line(error)}") from None
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ConfigError(f"{label}: '{module_name}' has no attribute '{attribute}'")
        found = getattr(found, part)
    if not callable(found):
        raise ConfigError(f"{label}: '{attribute}' in '{module_name}' is not callable")
    return found


def _call(factory: Callable[..., Any], options: dict[str, Any], label: str) -> Any:
    try:
        inspect.signature(factory).bind(**options)
    except TypeError as error:
        raise ConfigError(f"{label}: the factory does not take these options ({error})") from None
    except ValueError:  # no signature to check (some builtins): the call itself will tell
        pass
    try:
        return factory(**options)
    except FrechetError:
        raise
    except Exception as error:  # the user's code: report it in one line, as every other error
        raise PluginError(f"{label}: the factory raised {one_line(error)}") from None

