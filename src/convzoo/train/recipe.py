"""A card's training recipe turned into the settings of one run.

`resolve_recipe(card, cfg, batch_size)` gives, for every setting a recipe
decides, the value that runs and where it came from: ``"flag"`` (the user set
it, and a flag always wins), ``"paper"`` (the paper's recipe, as printed on the
card), or ``"default"`` (the card's default recipe, or the zoo's fallback where
the paper is silent). Each value comes with a one-line rule saying how it was
obtained, which `convzoo train` records in config.json under "resolved_from".

Two rules fit a paper's recipe to a shorter run on another batch:

* **learning rate**: linear scaling (Goyal et al. 2017, Section 2.1),
  ``lr * batch / recipe_batch``, the factor capped at `MAX_SCALE_UP` (8x) when
  the batch grows; beyond that the rule is known to break down. No scaling when
  the paper does not state its batch.
* **schedule**: compressed to ``--epochs``. Step decays happen at the same
  fractions of the run; an exponential decay keeps its total decay, so its
  per-epoch rate becomes ``factor ** (length / (every * epochs))``; a warm-up
  keeps its share of the run; a plateau drop is torch's ReduceLROnPlateau on the
  validation loss (`convzoo.train.optim.RecipeLR`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from convzoo.cards import HE_INIT, ZERO_RESIDUAL_INIT, ModelCard, Recipe, Schedule
from convzoo.factory import accepted_overrides

if TYPE_CHECKING:
    from convzoo.train.config import TrainConfig

__all__ = [
    "MAX_SCALE_UP",
    "Resolved",
    "compress_schedule",
    "he_init",
    "resolve_recipe",
    "scale_lr",
    "set_bn_momentum",
    "zero_residual_init",
]

# a recipe's init text -> the name `--init` takes
INIT_NAMES = {HE_INIT: "he", ZERO_RESIDUAL_INIT: "zero-residual"}

MAX_SCALE_UP = 8.0
# the zoo's learning rate where a paper is silent (at any batch: not scaled)
FALLBACK_LR = {"sgd": 0.1, "rmsprop": 0.016, "adam": 1e-3, "adamw": 1e-3}
# the zoo's weight decay where a paper is silent
FALLBACK_WEIGHT_DECAY = {"sgd": 5e-4, "rmsprop": 1e-5, "adam": 0.0, "adamw": 0.05}
# step milestones (fractions of the run) when the paper's cannot be placed in it
FALLBACK_MILESTONES = (0.5, 0.75)


@dataclass(frozen=True)
class Resolved:
    """One setting of a run: its value, who chose it, and how."""

    value: Any
    source: str  # "flag" | "paper" | "default"
    rule: str

    def as_dict(self) -> dict[str, str]:
        return {"from": self.source, "rule": self.rule}


def scale_lr(lr: float, batch_size: int, recipe_batch: int | None) -> tuple[float, str]:
    """Linear scaling to the batch actually used, and the rule as text."""
    if recipe_batch is None:
        return lr, f"{lr:g} (batch not stated: not scaled)"
    factor = batch_size / recipe_batch
    capped = min(factor, MAX_SCALE_UP)
    cap = f", capped at x{MAX_SCALE_UP:g}" if capped < factor else ""
    scaled = lr * capped
    return scaled, f"{lr:g} at batch {recipe_batch} x {batch_size}/{recipe_batch}{cap} = {scaled:g}"


@dataclass(frozen=True)
class Compressed:
    """A paper's schedule fitted to a run of `epochs` epochs (TrainConfig's terms)."""

    schedule: str
    milestones: tuple[float, ...]
    gamma: float
    warmup_epochs: float
    rule: str


def _length(recipe: Recipe, unit: str) -> float | None:
    """The paper's run length in the schedule's unit (None when not stated)."""
    return recipe.epochs if unit == "epoch" else recipe.iterations


def compress_schedule(recipe: Recipe, epochs: int) -> Compressed:
    """The recipe's schedule at the same fractions of a run of `epochs` epochs."""
    sched: Schedule | None = recipe.schedule
    if sched is None:
        return Compressed("cosine", FALLBACK_MILESTONES, 0.1, 0.0, "schedule not stated: cosine")
    length = _length(recipe, sched.unit)
    warmup, warm_rule = _warmup(sched, length, epochs)
    kind, milestones, gamma, rule = _decay(sched, length, epochs)
    return Compressed(kind, milestones, gamma, warmup, f"{sched}: {rule}{warm_rule}")


def _warmup(sched: Schedule, length: float | None, epochs: int) -> tuple[float, str]:
    if not sched.warmup:
        return 0.0, ""
    if length is None:  # its share of the run is unknown: keep it, at most a tenth
        share = min(sched.warmup if sched.unit == "epoch" else 0.0, 0.1 * epochs)
    else:
        share = sched.warmup / length * epochs
    constant = sched.warmup_lr
    start = "" if constant is None else f" (the paper's constant {constant:g}: linear)"
    return share, f"; warm-up {share:.3g} epochs{start}"


def _decay(
    sched: Schedule, length: float | None, epochs: int
) -> tuple[str, tuple[float, ...], float, str]:
    """(kind, milestones as fractions, gamma, rule) for TrainConfig."""
    kind = sched.kind
    if kind in ("constant", "cosine", "linear"):
        return kind, FALLBACK_MILESTONES, 0.1, kind
    factor = sched.factor or 0.1
    if kind == "plateau":
        return "plateau", (), factor, f"x{factor:g} on a validation-loss plateau"
    if kind == "exponential":
        return _exponential(sched, factor, length, epochs)
    milestones = _milestones(sched, length)
    if kind == "piecewise":  # the paper's values as equal steps at the same fractions
        ratio = (sched.values[-1] / sched.values[0]) ** (1 / max(len(sched.milestones), 1))
        fractions = milestones or FALLBACK_MILESTONES
        return (
            "step",
            fractions,
            ratio,
            (
                f"piecewise as steps of x{ratio:.3g} (the paper's overall ratio) at "
                f"{_fractions(fractions)} of the run"
            ),
        )
    if milestones is None:
        return (
            "step",
            FALLBACK_MILESTONES,
            factor,
            (
                f"x{factor:g} at {_fractions(FALLBACK_MILESTONES)} of the run "
                "(the paper's steps cannot be placed: no length or milestones)"
            ),
        )
    return "step", milestones, factor, f"x{factor:g} at {_fractions(milestones)} of the run"


def _milestones(sched: Schedule, length: float | None) -> tuple[float, ...] | None:
    if length is None:
        return None
    if sched.milestones:
        return tuple(m / length for m in sched.milestones if m < length)
    if sched.every:
        count = math.ceil(length / sched.every) - 1
        return tuple(k * sched.every / length for k in range(1, count + 1))
    return None


def _exponential(
    sched: Schedule, factor: float, length: float | None, epochs: int
) -> tuple[str, tuple[float, ...], float, str]:
    every = sched.every or 1.0
    if length is None:
        if sched.unit != "epoch":
            return "cosine", FALLBACK_MILESTONES, 0.1, "length not stated: cosine"
        rate = factor ** (1 / every)
        return "exponential", (), rate, f"x{rate:.3g} per epoch (length not stated: not compressed)"
    rate = factor ** (length / (every * epochs))
    return (
        "exponential",
        (),
        rate,
        (
            f"x{rate:.3g} per epoch (the paper's total decay x{factor ** (length / every):.3g} "
            f"over {epochs} epochs)"
        ),
    )


def _fractions(values: tuple[float, ...]) -> str:
    return ", ".join(f"{v:.3g}" for v in values) if values else "no point"


# -- one run's values ---------------------------------------------------------
def resolve_recipe(card: ModelCard, cfg: TrainConfig, batch_size: int) -> dict[str, Resolved]:
    """Every recipe-decided setting of `cfg`: the flag where given, else the recipe's."""
    recipe = card.recipe if cfg.recipe == "paper" else card.training_recipe
    kind = "default" if recipe is card.default_recipe else "paper"
    out: dict[str, Resolved] = {}

    def pick(name: str, value: Any, rule: str, source: str | None = None) -> None:
        given = getattr(cfg, name)
        if given is not None:
            out[name] = Resolved(given, "flag", "set by flag")
        else:
            out[name] = Resolved(value, source or kind, rule)

    optimizer, why = _optimizer(recipe)
    pick("optimizer", optimizer, why, kind if recipe.optimizer in FALLBACK_LR else "default")
    opt = out["optimizer"].value
    same = opt == recipe.optimizer or (opt == "sgd" and recipe.optimizer == "sdlm")
    if same and recipe.lr is not None:
        lr, rule = scale_lr(recipe.lr, batch_size, recipe.batch_size)
        pick("lr", lr, f"{rule} ({recipe.source})")
    else:
        pick("lr", FALLBACK_LR[opt], f"the zoo's {FALLBACK_LR[opt]:g} for {opt}", "default")
    _optimizer_settings(pick, recipe, opt, same)
    _schedule(pick, recipe, cfg)
    _model_settings(pick, out, recipe, card, cfg)
    return out


def _optimizer(recipe: Recipe) -> tuple[str, str]:
    if recipe.optimizer == "sdlm":  # LeCun et al. 1998, Appendix C; not in torch
        return "sgd", "sgd (the paper's stochastic diagonal Levenberg-Marquardt is not in torch)"
    if recipe.optimizer is None:
        return "sgd", "optimizer not stated: sgd"
    return recipe.optimizer, f"{recipe.optimizer} ({recipe.source})"


def _stated(
    recipe: Recipe, name: str, fallback: Any, opt: str, same: bool
) -> tuple[Any, str, bool]:
    """(value, rule, from the recipe) for a setting the paper gives, omits, or does not use."""
    value = getattr(recipe, name)
    zoo = f"the zoo's {fallback:g} for {opt}"
    if not same:
        return fallback, f"{zoo} (the recipe's value is for {recipe.optimizer})", False
    if value is not None:
        return value, f"{value:g} ({recipe.source})", True
    if name in recipe.not_stated:
        return fallback, f"not stated: {zoo}", False
    return 0.0, "not used by the recipe", True


def _optimizer_settings(pick: Any, recipe: Recipe, opt: str, same: bool) -> None:
    momentum, rule, own = _stated(recipe, "momentum", 0.9, opt, same)
    pick("momentum", momentum, rule, None if own else "default")
    decay, rule, own = _stated(recipe, "weight_decay", FALLBACK_WEIGHT_DECAY[opt], opt, same)
    pick("weight_decay", decay, rule, None if own else "default")
    pick("nesterov", recipe.nesterov and same, "Nesterov" if recipe.nesterov else "plain momentum")
    alpha = recipe.rmsprop_decay if same and recipe.rmsprop_decay is not None else 0.99
    pick("rmsprop_decay", alpha, f"{alpha:g}" + ("" if alpha != 0.99 else " (torch's default)"))
    if same and recipe.eps is not None:
        # the papers used TensorFlow's RMSProp, which adds eps inside the square root
        # (torch adds it outside): sqrt(eps) gives the same step where the mean square is ~0
        eps = math.sqrt(recipe.eps) if opt == "rmsprop" else recipe.eps
        pick("eps", eps, f"{eps:.3g}" + (f" = sqrt({recipe.eps:g})" if opt == "rmsprop" else ""))
    else:
        pick("eps", 1e-8, "1e-8 (torch's default)", "default")


def _schedule(pick: Any, recipe: Recipe, cfg: TrainConfig) -> None:
    if cfg.schedule is not None:  # a flag: the recipe's schedule no longer applies
        pick("schedule", cfg.schedule, "")
        pick("milestones", FALLBACK_MILESTONES, "the zoo's", "default")
        pick("gamma", 0.1, "the zoo's", "default")
        warm = 1.0 if cfg.epochs >= 5 else 0.0
        pick("warmup_epochs", warm, "1 epoch when training >= 5 epochs, else none", "default")
        return
    plan = compress_schedule(recipe, cfg.epochs)
    stated = recipe.schedule is not None
    source = None if stated else "default"
    pick("schedule", plan.schedule, plan.rule, source)
    pick("milestones", plan.milestones, plan.rule, source)
    pick("gamma", plan.gamma, plan.rule, source)
    pick("warmup_epochs", plan.warmup_epochs, plan.rule, source)


def _model_settings(
    pick: Any, out: dict[str, Resolved], recipe: Recipe, card: ModelCard, cfg: TrainConfig
) -> None:
    smoothing = recipe.label_smoothing or 0.0
    pick("label_smoothing", smoothing, f"{smoothing:g}" if smoothing else "not used")
    takes_dropout = "dropout" in accepted_overrides(cfg.model)  # cfg.model: also nas:PATH
    if cfg.dropout is not None and not takes_dropout:
        raise ValueError(f"{card.name} has no dropout to set; --dropout {cfg.dropout} was given")
    if "dropout" in cfg.model_kwargs:
        out["dropout"] = Resolved(cfg.model_kwargs["dropout"], "flag", "set by --model-arg")
    elif takes_dropout and recipe.dropout is not None:
        pick("dropout", recipe.dropout, f"{recipe.dropout:g} ({recipe.source})")
    else:
        pick("dropout", None, "the model's own", "default")
    init = INIT_NAMES.get(recipe.init, "model")
    pick("init", init, recipe.init if init != "model" else "the model's own initialisation")
    if recipe.bn_momentum is None:
        pick("bn_momentum", None, "the model's own", "default")
    else:
        pick("bn_momentum", recipe.bn_momentum, f"{recipe.bn_momentum:g} ({recipe.source})")


@torch.no_grad()
def zero_residual_init(model: nn.Module) -> None:
    """The `ZERO_RESIDUAL_INIT` of a recipe: every block that has a residual branch zeroes
    the scale of its branch's last normalisation (blocks say how: `zero_init_last`)."""
    for m in model.modules():
        if hasattr(m, "zero_init_last"):
            m.zero_init_last()


def set_bn_momentum(model: nn.Module, momentum: float) -> None:
    """A recipe's `bn_momentum` on every batch norm of `model` (their running statistics
    move by this share of the batch's each step)."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.momentum = momentum


@torch.no_grad()
def he_init(model: nn.Module) -> None:
    """He et al. 2015 (arXiv:1502.01852): the `HE_INIT` of a recipe."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
        else:
            continue
        if m.bias is not None:
            nn.init.zeros_(m.bias)
