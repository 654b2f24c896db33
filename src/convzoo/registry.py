"""The model registry: names -> (ModelCard, builder).

Each variant is registered by decorating one short builder function::

    @register(ModelCard(name="vgg16", family="vgg", ...))
    def vgg16(**overrides) -> VGG:
        return VGG(CONFIG_D, **overrides)

The registry only files and finds: `model_card`, `get_builder`, `list_models`,
`list_families`. Building a network (overrides, weights, backbones) is
`convzoo.factory.create_model`. The card types are re-exported here because
every model module imports them next to `register`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from convzoo.cards import *  # noqa: F403  (the card types, re-exported for the model modules)
from convzoo.cards import ModelCard
from convzoo.errors import did_you_mean

__all__ = [
    "Entry",
    "get_builder",
    "list_families",
    "list_models",
    "lookup",
    "model_card",
    "register",
]


@dataclass(frozen=True)
class Entry:
    """A registered network: its card and the function that builds it."""

    card: ModelCard
    builder: Callable[..., nn.Module]


_REGISTRY: dict[str, Entry] = {}


def register(card: ModelCard) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a builder under ``card.name``; duplicates raise."""

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if card.name in _REGISTRY:
            raise ValueError(f"model {card.name!r} is already registered")
        _REGISTRY[card.name] = Entry(card, builder)
        builder.card = card  # type: ignore[attr-defined]
        return builder

    return decorate


def _ensure_models_imported() -> None:
    import convzoo.models  # noqa: F401  (registers every family)


def lookup(name: str) -> Entry:
    """The entry of ``name``; ``nas:PATH`` is a searched architecture saved as JSON."""
    if name.startswith("nas:"):  # a searched architecture saved as JSON
        from convzoo.search.spaces import nas_entry

        return Entry(*nas_entry(name))
    _ensure_models_imported()
    if name not in _REGISTRY:
        hint = did_you_mean(name, _REGISTRY)
        raise ValueError(
            f"unknown model {name!r}{hint} (`convzoo list` shows all {len(_REGISTRY)})"
        )
    return _REGISTRY[name]


def model_card(name: str) -> ModelCard:
    """The card of a registered model: paper, authors, year, the table it encodes,
    key ideas, reported parameters/multiply-adds/top-1, twins and known deviations.

    Raises ValueError with close matches ("did you mean") for an unknown name.
    """
    return lookup(name).card


def get_builder(name: str) -> Callable[..., nn.Module]:
    return lookup(name).builder


def list_models(pattern: str = "*", family: str | None = None) -> list[str]:
    """Registered names matching a glob ``pattern`` (and ``family``), in natural
    order: numbers inside names sort by value (resnet18 < resnet34 < resnet101)."""
    _ensure_models_imported()
    return sorted(
        (
            name
            for name, entry in _REGISTRY.items()
            if fnmatch.fnmatch(name, pattern) and (family is None or entry.card.family == family)
        ),
        key=lambda name: [
            (0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"(\d+)", name)
        ],
    )


def list_families() -> list[str]:
    _ensure_models_imported()
    return sorted({entry.card.family for entry in _REGISTRY.values()})


def __getattr__(name: str) -> Any:
    # `convzoo.registry.create_model` is the older import path of the factory's builder
    if name == "create_model":
        from convzoo.factory import create_model

        return create_model
    raise AttributeError(f"module 'convzoo.registry' has no attribute {name!r}")
