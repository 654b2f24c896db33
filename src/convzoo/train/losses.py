"""The training loss: cross-entropy of the main head plus the weighted auxiliary heads,
and the running per-epoch sums that the metrics report.

A model that returns `AuxOutput` in training mode declares ``aux_loss_weight``
(a float, or one per head) on its class, e.g. GoogLeNet's 0.3; the loss reads
no model names. Each head's own (unweighted) loss is reported separately, so
the main head's loss means the same thing for every network.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from convzoo.models.base import AuxOutput

__all__ = ["EpochTally", "LossTerms", "compute_loss", "loss_terms", "tally_record"]


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


@dataclass(frozen=True)
class LossTerms:
    """The loss to minimise, the main head's logits, and each head's own loss."""

    total: Tensor
    logits: Tensor
    main: Tensor
    aux: tuple[Tensor, ...] = ()


def loss_terms(
    output: Tensor | AuxOutput, labels: Tensor, criterion: nn.Module, model: nn.Module
) -> LossTerms:
    """Main loss plus ``weight * loss`` of every auxiliary head (computed in fp32)."""
    if not isinstance(output, AuxOutput):
        main = criterion(output.float(), labels)
        return LossTerms(main, output, main)
    main = criterion(output.logits.float(), labels)
    aux = tuple(criterion(a.float(), labels) for a in output.aux)
    total = main
    for weight, term in zip(aux_weights(model, len(aux)), aux, strict=True):
        total = total + weight * term
    return LossTerms(total, output.logits, main, aux)


def compute_loss(
    output: Tensor | AuxOutput, labels: Tensor, criterion: nn.Module, model: nn.Module
) -> tuple[Tensor, Tensor]:
    """(total loss, main logits): main loss plus weighted auxiliary losses."""
    terms = loss_terms(output, labels, criterion, model)
    return terms.total, terms.logits


class EpochTally:
    """Running sums of one epoch on one rank, as Python floats.

    Layout: ``[total loss * n, correct, n]``, then for models with auxiliary heads
    ``main loss * n`` and ``aux loss * n`` per head. Reading each step's values is
    cheap on a CPU (no queue to wait for) and the step already reads the loss to
    check that it is finite; Python floats also make a resumed epoch report
    exactly the numbers of an uninterrupted one.
    """

    def __init__(self, values: list[float] | None = None) -> None:
        self.sums = list(values or [0.0, 0.0, 0.0])

    def add(self, terms: LossTerms, labels: Tensor, total: float) -> None:
        """Add one step; `total` is ``terms.total.item()`` (already read by the caller)."""
        n = labels.numel()  # images, or pixels of the (cropped) masks
        step = [total * n, (terms.logits.argmax(1) == labels).sum().item(), n]
        if terms.aux:
            step += [t.item() * n for t in (terms.main, *terms.aux)]
        if len(self.sums) < len(step):  # first step of a model with auxiliary heads
            self.sums += [0.0] * (len(step) - len(self.sums))
        self.sums = [a + b for a, b in zip(self.sums, step, strict=True)]

    def running(self) -> tuple[float, float]:
        """(mean total loss, accuracy in %) so far."""
        total, correct, n = self.sums[:3]
        return total / max(n, 1), 100 * correct / max(n, 1)


def tally_record(sums: list[float]) -> dict[str, float]:
    """Metrics of an epoch from its (all-rank) sums: train_loss is the main head's."""
    total, correct, n, *heads = sums
    record = {"train_loss": (heads[0] if heads else total) / n, "train_acc": 100 * correct / n}
    if heads:
        record["train_total_loss"] = total / n
        for i, aux in enumerate(heads[1:], start=1):
            record[f"train_aux{i}_loss"] = aux / n
    return record
