"""The training loss: cross-entropy of the main head plus the weighted auxiliary heads.

A model that returns `AuxOutput` in training mode declares ``aux_loss_weight``
(a float, or one per head) on its class, e.g. GoogLeNet's 0.3; the loss reads
no model names.
"""

from __future__ import annotations

from torch import Tensor, nn

from convzoo.models.base import AuxOutput

__all__ = ["aux_weights", "compute_loss"]


def aux_weights(model: nn.Module, n_heads: int) -> list[float]:
    """The loss weight of each auxiliary head, as the model's class declares it."""
    weight = getattr(model, "aux_loss_weight", None)
    if weight is None:
        raise TypeError(
            f"{type(model).__name__} returns auxiliary logits in training mode but does not "
            "declare `aux_loss_weight` (the paper's weight of the auxiliary losses)"
        )
    weights = [float(weight)] * n_heads if isinstance(weight, int | float) else list(weight)
    if len(weights) != n_heads:
        raise ValueError(f"{len(weights)} aux_loss_weight values for {n_heads} auxiliary heads")
    return weights


def compute_loss(
    output: Tensor | AuxOutput, labels: Tensor, criterion: nn.Module, model: nn.Module
) -> tuple[Tensor, Tensor]:
    """(total loss, main logits): main loss plus weighted auxiliary losses."""
    if isinstance(output, AuxOutput):
        loss = criterion(output.logits.float(), labels)
        for weight, aux in zip(aux_weights(model, len(output.aux)), output.aux, strict=True):
            loss = loss + weight * criterion(aux.float(), labels)
        return loss, output.logits
    return criterion(output.float(), labels), output
