"""Output shapes of named submodules, from one forward pass on the meta device."""

from __future__ import annotations

import torch

import convzoo


def output_shapes(name: str, size: int | None = None, **overrides) -> dict[str, tuple[int, ...]]:
    """``{qualified module name: output shape}`` for every submodule of model `name` (eval)."""
    with torch.device("meta"):
        model = convzoo.create_model(name, **overrides).eval()
    shapes: dict[str, tuple[int, ...]] = {}

    def record(key: str, out) -> None:
        if isinstance(out, torch.Tensor):  # NASNet's stages pass a pair of maps along
            shapes[key] = tuple(out.shape)

    hooks = [
        module.register_forward_hook(lambda _m, _i, out, key=key: record(key, out))
        for key, module in model.named_modules()
        if key
    ]
    h, w = (size, size) if size else model.default_input_size
    with torch.no_grad():
        model(torch.empty(1, model.in_channels, h, w, device="meta"))
    for hook in hooks:
        hook.remove()
    return shapes
