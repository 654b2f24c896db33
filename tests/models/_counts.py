"""Parameter counts on the meta device (no storage, no random init)."""

import torch

import convzoo


def meta_params(name: str, **overrides) -> int:
    with torch.device("meta"):
        model = convzoo.create_model(name, **overrides)
    return sum(p.numel() for p in model.parameters())
