"""Building registered networks: overrides checked, weights loaded, backbones cut.

`create_model` looks the builder up in `convzoo.registry`, checks overrides
against what the builder (or, for ``**overrides`` builders, the model class)
accepts, attaches the card as ``model.card``, optionally loads weights
(`convzoo.interop`) and optionally returns the stage-feature backbone
(`convzoo.models.base.FeatureExtractor`).
"""

from __future__ import annotations

import inspect
import numbers
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from convzoo.registry import get_builder, lookup

__all__ = ["accepted_overrides", "create_model"]


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
    found = lookup(name)
    if num_classes is not None:
        overrides["num_classes"] = num_classes
    if in_channels is not None:
        overrides["in_channels"] = in_channels
    for key in ("num_classes", "in_channels"):
        if key in overrides:
            _check_count(key, overrides[key])
    accepted = accepted_overrides(name)
    unknown = sorted(set(overrides) - set(accepted))
    if unknown:
        raise ValueError(
            f"{name!r} does not accept {', '.join(unknown)}; accepted: {', '.join(accepted)}"
        )
    model = found.builder(**overrides)
    model.card = found.card
    if weights is not None:
        from convzoo.interop import load_weights_file

        load_weights_file(model, weights)
    if features_only:
        from convzoo.models.base import FeatureExtractor

        return FeatureExtractor(model, out_indices)
    return model


def _check_count(key: str, value: Any) -> None:
    """num_classes / in_channels: a positive int (not a bool, str or float such as 10.5)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{key} must be a positive integer, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{key} must be >= 1, got {value}")
