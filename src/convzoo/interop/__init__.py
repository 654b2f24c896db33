"""Bring weights from torchvision / timm (or our own checkpoints) into convzoo models.

A model whose card lists a `Twin` can take that twin's state dict: the twin's
``key_rules`` rename each key to ours. Loading is strict: every tensor of the
source must land on a parameter or buffer of ours with the same shape, and every
one of ours must be filled; otherwise a `ValueError` lists what did not fit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from torch import Tensor, nn

from convzoo.cards import Twin

__all__ = ["load_reference_weights", "load_weights_file", "map_state_dict", "read_state_dict"]


def _twin_for(model: nn.Module, source: str, name: str | None) -> Twin:
    card = getattr(model, "card", None)
    twins = [t for t in (card.twins if card else ()) if t.source == source]
    if name is not None:
        twins = [t for t in twins if t.name == name]
    if not twins:
        known = ", ".join(str(t) for t in card.twins) if card and card.twins else "none"
        model_name = card.name if card else type(model).__name__
        raise ValueError(
            f"{model_name} has no {source} twin{f' {name!r}' if name else ''}; twins: {known}"
        )
    return twins[0]


def map_state_dict(state_dict: Mapping[str, Tensor], twin: Twin) -> dict[str, Tensor]:
    """Rename a twin's keys to ours with the twin's rules; ignored keys are dropped."""
    mapped: dict[str, Tensor] = {}
    for key, tensor in state_dict.items():
        if any(re.fullmatch(pattern, key) for pattern in twin.ignore_keys):
            continue
        new_key = key
        for pattern, replacement in twin.key_rules:
            new_key = re.sub(pattern, replacement, new_key)
        if new_key in mapped:
            raise ValueError(f"{twin}: keys map onto the same name {new_key!r}")
        mapped[new_key] = tensor
    return mapped


def _load_strict(model: nn.Module, state_dict: Mapping[str, Tensor], what: str) -> None:
    ours = model.state_dict()
    missing = sorted(set(ours) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(ours))
    mismatched = [
        f"{k}: expected {tuple(ours[k].shape)}, got {tuple(state_dict[k].shape)}"
        for k in ours
        if k in state_dict and ours[k].shape != state_dict[k].shape
    ]
    if missing or unexpected or mismatched:
        lines = [f"cannot load {what}:"]
        for label, items in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("shape", mismatched),
        ):
            if items:
                shown = ", ".join(items[:8]) + (
                    f" ... (+{len(items) - 8})" if len(items) > 8 else ""
                )
                lines.append(f"  {label} ({len(items)}): {shown}")
        raise ValueError("\n".join(lines))
    model.load_state_dict(state_dict, strict=True)


def load_reference_weights(
    model: nn.Module,
    state_dict: Mapping[str, Tensor],
    source: str = "torchvision",
    *,
    twin_name: str | None = None,
) -> nn.Module:
    """Load a torchvision/timm twin's state dict into `model` (strict, shapes checked)."""
    twin = _twin_for(model, source, twin_name)
    mapped = _linear_from_1x1_conv(map_state_dict(state_dict, twin), model.state_dict())
    _load_strict(model, mapped, f"{twin} weights")
    return model


def _linear_from_1x1_conv(
    state_dict: dict[str, Tensor], ours: Mapping[str, Tensor]
) -> dict[str, Tensor]:
    """A twin's 1x1-conv classifier (timm ResNetV2) is the same weights as our Linear."""
    for key, tensor in state_dict.items():
        target = ours.get(key)
        if (
            target is not None
            and target.dim() == 2
            and tensor.dim() == 4
            and tuple(tensor.shape) == (*target.shape, 1, 1)
        ):
            state_dict[key] = tensor.flatten(1)
    return state_dict


def read_state_dict(path: str | Path) -> dict[str, Tensor]:
    """A state dict from a .safetensors file or a torch file (weights-only loading).

    Our training checkpoints hold the weights under "model"; torchvision/timm
    files are the bare state dict.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    if path.suffix == ".safetensors":
        return _read_safetensors(path)
    from convzoo.weights_file import read_weights_only

    data = read_weights_only(path, "weights file")
    if isinstance(data, Mapping) and isinstance(data.get("model"), Mapping):
        data = data["model"]
    if not isinstance(data, Mapping):
        raise ValueError(f"{path} does not hold a state dict (got {type(data).__name__})")
    return dict(data)


def _read_safetensors(path: Path) -> dict[str, Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise ValueError(
            f"{path} is not a readable .safetensors file ({exc}); expected an 8-byte header "
            "length, a JSON header and the tensor bytes it describes"
        ) from None


def load_weights_file(model: nn.Module, path: str | Path) -> nn.Module:
    """Load a file in our layout or in any of the model's twins' layouts."""
    state_dict = read_state_dict(path)
    if set(state_dict) == set(model.state_dict()):
        _load_strict(model, state_dict, str(path))
        return model
    card = getattr(model, "card", None)
    ours = set(model.state_dict())
    for twin in card.twins if card else ():
        if set(map_state_dict(state_dict, twin)) == ours:
            _load_strict(model, map_state_dict(state_dict, twin), f"{path} ({twin} layout)")
            return model
    _load_strict(model, state_dict, str(path))  # raises with the list of differences
    return model
