"""The model registry: names -> (ModelCard, builder).

Each variant is registered by decorating one short builder function::

    @register(ModelCard(name="vgg16", family="vgg", ...))
    def vgg16(**overrides) -> VGG:
        return VGG(CONFIG_D, **overrides)

`create_model` builds a registered network, checks overrides against what the
builder (or, for ``**overrides`` builders, the model class) accepts, attaches the
card as ``model.card`` and optionally loads weights.
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
import re
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

__all__ = [
    "ModelCard",
    "Reported",
    "Twin",
    "accepted_overrides",
    "create_model",
    "get_builder",
    "list_models",
    "model_card",
    "register",
]

KeyRule = tuple[str, "str | Callable[[re.Match[str]], str]"]


@dataclass(frozen=True)
class Twin:
    """An existing implementation of exactly the same network.

    ``key_rules`` are ``(pattern, replacement)`` regex substitutions applied in
    order to each of the twin's state-dict keys to obtain ours. ``kwargs`` are
    passed to the twin's constructor (e.g. ``aux_logits=False``).
    """

    source: str  # "torchvision" or "timm"
    name: str
    key_rules: tuple[KeyRule, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    ignore_keys: tuple[str, ...] = ()  # twin keys (regex) with no counterpart, e.g. buffers

    def __post_init__(self) -> None:
        if self.source not in ("torchvision", "timm"):
            raise ValueError(f"Twin source must be 'torchvision' or 'timm', got {self.source!r}")

    def __str__(self) -> str:
        return f"{self.source}:{self.name}"

    def build(self, **kwargs: Any) -> nn.Module:
        """Build the twin with random weights (no download)."""
        if self.source == "torchvision":
            import torchvision

            return torchvision.models.get_model(self.name, weights=None, **self.kwargs, **kwargs)
        import timm

        return timm.create_model(self.name, pretrained=False, **self.kwargs, **kwargs)


_SUFFIX = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "B": 1e9}


@dataclass(frozen=True)
class Reported:
    """A number as a paper prints it, e.g. ``"25.6M"`` or ``"61,100,840"``.

    ``value`` is the number; ``tolerance`` is half a unit of the last printed
    digit, so a measured count agrees with the paper iff
    ``abs(measured - value) <= tolerance``.
    """

    text: str

    def __post_init__(self) -> None:
        if not re.fullmatch(r"~?[\d,]+(\.\d+)?[KMGB]?", self.text):
            raise ValueError(
                f"Reported number must look like '25.6M' or '61,100,840', got {self.text!r}"
            )

    def _parts(self) -> tuple[str, float]:
        text = self.text.lstrip("~").replace(",", "")
        suffix = text[-1] if text[-1] in _SUFFIX else ""
        return text.removesuffix(suffix) if suffix else text, _SUFFIX[suffix]

    @property
    def value(self) -> float:
        digits, scale = self._parts()
        return float(digits) * scale

    @property
    def tolerance(self) -> float:
        digits, scale = self._parts()
        decimals = len(digits.partition(".")[2])
        return 0.5 * 10 ** (-decimals) * scale

    def agrees(self, measured: float) -> bool:
        return abs(measured - self.value) <= self.tolerance * (1 + 1e-9)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class ModelCard:
    """What a student needs to know about one registered network."""

    name: str
    family: str
    title: str  # the paper's title
    authors: str  # "He, Zhang, Ren, Sun"
    year: int
    arxiv: str | None  # "1512.03385", or None with `citation` set
    table: str  # the table/figure of the paper this config encodes
    key_ideas: tuple[str, ...]
    input_size: tuple[int, int, int]  # (C, H, W) of the paper's network
    paper_params: Reported | None = None
    paper_macs: Reported | None = None
    paper_top1: float | None = None  # top-1 accuracy in percent, as reported
    dataset: str = "ImageNet"  # the dataset the paper's numbers refer to
    num_classes: int = 1000
    twins: tuple[Twin, ...] = ()
    deviations: tuple[str, ...] = ()
    citation: str | None = None  # for papers without an arXiv id
    task: str = "classification"  # or "segmentation"

    def __post_init__(self) -> None:
        problems = []
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            problems.append(f"name must be lower_snake_case, got {self.name!r}")
        if self.arxiv is None and not self.citation:
            problems.append("needs an arXiv id or a citation")
        if not 2 <= len(self.key_ideas) <= 5:
            problems.append(f"needs 2-5 key ideas, got {len(self.key_ideas)}")
        if len(self.input_size) != 3:
            problems.append(f"input_size must be (C, H, W), got {self.input_size}")
        if self.task not in ("classification", "segmentation"):
            problems.append(f"task must be classification or segmentation, got {self.task!r}")
        if problems:
            raise ValueError(f"ModelCard {self.name!r}: " + "; ".join(problems))

    @property
    def reference(self) -> str:
        where = f"arXiv:{self.arxiv}" if self.arxiv else self.citation
        return f"{self.authors} ({self.year}). {self.title}. {where}"


@dataclass(frozen=True)
class _Entry:
    card: ModelCard
    builder: Callable[..., nn.Module]


_REGISTRY: dict[str, _Entry] = {}


def register(card: ModelCard) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a builder under ``card.name``; duplicates raise."""

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if card.name in _REGISTRY:
            raise ValueError(f"model {card.name!r} is already registered")
        _REGISTRY[card.name] = _Entry(card, builder)
        builder.card = card  # type: ignore[attr-defined]
        return builder

    return decorate


def _ensure_models_imported() -> None:
    import convzoo.models  # noqa: F401  (registers every family)


def _entry(name: str) -> _Entry:
    _ensure_models_imported()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"unknown model {name!r}{hint} (`convzoo list` shows all {len(_REGISTRY)})"
        )
    return _REGISTRY[name]


def model_card(name: str) -> ModelCard:
    return _entry(name).card


def get_builder(name: str) -> Callable[..., nn.Module]:
    return _entry(name).builder


def list_models(pattern: str = "*", family: str | None = None) -> list[str]:
    """Registered names matching a glob ``pattern`` (and ``family``), sorted."""
    _ensure_models_imported()
    return sorted(
        name
        for name, entry in _REGISTRY.items()
        if fnmatch.fnmatch(name, pattern) and (family is None or entry.card.family == family)
    )


def list_families() -> list[str]:
    _ensure_models_imported()
    return sorted({entry.card.family for entry in _REGISTRY.values()})


def _keyword_names(fn: Callable[..., Any], skip_positional: int = 0) -> tuple[set[str], bool]:
    params = list(inspect.signature(fn).parameters.values())
    names = {
        p.name
        for i, p in enumerate(params)
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and i >= skip_positional
    }
    has_var_kw = any(p.kind is p.VAR_KEYWORD for p in params)
    return names, has_var_kw


def accepted_overrides(name: str) -> list[str]:
    """Keyword arguments `create_model(name, ...)` accepts."""
    builder = get_builder(name)
    names, has_var_kw = _keyword_names(builder)
    if has_var_kw:
        returned = typing.get_type_hints(builder).get("return")
        # a builder may return one of several classes (``UNet | EncoderUNet``)
        classes = (
            typing.get_args(returned) if isinstance(returned, types.UnionType) else (returned,)
        )
        if not all(isinstance(c, type) and issubclass(c, nn.Module) for c in classes):
            raise TypeError(
                f"builder {name!r} takes **overrides but does not annotate its model class"
            )
        for cls in classes:
            # `self` and the config the builder passes positionally are not overrides.
            class_names, _ = _keyword_names(cls.__init__, skip_positional=2)
            names |= class_names
    return sorted(names)


def create_model(
    name: str,
    *,
    num_classes: int | None = None,
    in_channels: int | None = None,
    weights: str | Path | None = None,
    features_only: bool = False,
    out_indices: Sequence[int] | None = None,
    **overrides: Any,
) -> nn.Module:
    """Build the registered network ``name``.

    ``weights`` is a checkpoint file (ours, or a twin's state dict from
    torchvision/timm). ``features_only=True`` returns a backbone whose forward
    gives the list of stage feature maps described by its ``feature_info``:
    all of them, or those at ``out_indices`` (0 = stem; the stages after the
    last one asked for are not built into the backbone).
    """
    if out_indices is not None and not features_only:
        raise ValueError("out_indices selects backbone maps: it needs features_only=True")
    entry = _entry(name)
    if num_classes is not None:
        overrides["num_classes"] = num_classes
    if in_channels is not None:
        overrides["in_channels"] = in_channels
    accepted = accepted_overrides(name)
    unknown = sorted(set(overrides) - set(accepted))
    if unknown:
        raise ValueError(
            f"{name!r} does not accept {', '.join(unknown)}; accepted: {', '.join(accepted)}"
        )
    model = entry.builder(**overrides)
    model.card = entry.card
    if weights is not None:
        from convzoo.interop import load_weights_file

        load_weights_file(model, weights)
    if features_only:
        from convzoo.models.base import FeatureExtractor

        return FeatureExtractor(model, out_indices)
    return model


def cards(names: Sequence[str] | None = None) -> list[ModelCard]:
    return [model_card(n) for n in (names if names is not None else list_models())]
