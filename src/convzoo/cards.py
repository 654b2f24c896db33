"""Model cards: what the zoo records about each network and the paper it comes from.

A `ModelCard` holds the `Paper`, the table it encodes, key ideas, the numbers the
paper reports (`Reported`, `Accuracy`), how the paper trained it (`Recipe`,
`Schedule`) and its `Twin` implementations in torchvision/timm. The cards are
plain data: `convzoo.registry` files them under their names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from torch import nn

__all__ = [
    "HE_INIT",
    "ZERO_RESIDUAL_INIT",
    "Accuracy",
    "ModelCard",
    "Paper",
    "Recipe",
    "Reported",
    "Schedule",
    "Twin",
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
class Paper:
    """One paper, shared by every card that encodes one of its networks."""

    title: str
    authors: str  # "He, Zhang, Ren, Sun"
    year: int
    arxiv: str | None = None  # "1512.03385", or None with `citation` set
    citation: str | None = None  # for papers without an arXiv id

    def __post_init__(self) -> None:
        problems = []
        if not self.title or not self.authors:
            problems.append("needs a title and authors")
        if not 1980 <= self.year <= 2100:
            problems.append(f"year must be between 1980 and 2100, got {self.year}")
        if self.arxiv is None and not self.citation:
            problems.append("needs an arXiv id or a citation")
        if problems:
            raise ValueError(f"Paper {self.title!r}: " + "; ".join(problems))

    @property
    def reference(self) -> str:
        where = f"arXiv:{self.arxiv}" if self.arxiv else self.citation
        return f"{self.authors} ({self.year}). {self.title}. {where}"


@dataclass(frozen=True)
class Accuracy:
    """An accuracy as the paper prints it (errors converted: top1 = 100 - top-1 error).

    ``protocol`` says how the paper evaluated (single 224x224 centre crop, 10-crop,
    dense multi-scale, ...): numbers under different protocols do not compare.
    """

    top1: float | None  # percent; None where the paper prints only a top-5
    source: str  # "Table 3"
    protocol: str  # "single crop 224", "10-crop", ...
    top5: float | None = None  # percent, where printed
    dataset: str = "ImageNet val"  # the split the number is measured on
    note: str = ""

    def __post_init__(self) -> None:
        problems = []
        for label, value in (("top1", self.top1), ("top5", self.top5)):
            if value is not None and not 0 < value <= 100:
                problems.append(f"{label} must be a percentage in (0, 100], got {value}")
        if self.top1 is None and self.top5 is None:
            problems.append("needs a top1 or a top5")
        if self.top5 is not None and self.top1 is not None and self.top5 < self.top1:
            problems.append(f"top5 ({self.top5}) cannot be below top1 ({self.top1})")
        if not self.source or not self.protocol or not self.dataset:
            problems.append("needs a source, a protocol and a dataset")
        if problems:
            raise ValueError(f"Accuracy ({self.source or 'no source'}): " + "; ".join(problems))

    @classmethod
    def from_error(
        cls, top1_error: float | None, top5_error: float | None = None, **fields: Any
    ) -> Accuracy:
        """From the error rates (percent) most papers print: accuracy = 100 - error."""

        def accuracy(error: float | None) -> float | None:
            return None if error is None else round(100 - error, 2)

        return cls(top1=accuracy(top1_error), top5=accuracy(top5_error), **fields)

    def __str__(self) -> str:
        parts = [f"top-{k} {v:g}%" for k, v in ((1, self.top1), (5, self.top5)) if v is not None]
        text = f"{', '.join(parts)} ({self.dataset}, {self.protocol}; {self.source})"
        return f"{text}; {self.note}" if self.note else text


SCHEDULE_KINDS = ("constant", "step", "plateau", "exponential", "cosine", "linear", "piecewise")
SCHEDULE_UNITS = ("epoch", "iteration")


@dataclass(frozen=True)
class Schedule:
    """How the learning rate changes during training.

    ``step``: times ``factor`` at each of ``milestones``; ``plateau``: times
    ``factor`` whenever validation error stops improving; ``exponential``: times
    ``factor`` every ``every`` units; ``piecewise``: ``values`` from each milestone
    on. A warm-up of ``warmup`` units runs at ``warmup_lr`` (constant) or, when
    that is None, ramps linearly up to the base rate.
    """

    kind: str
    factor: float | None = None
    every: float | None = None
    milestones: tuple[float, ...] = ()
    values: tuple[float, ...] = ()
    unit: str = "epoch"
    warmup: float = 0.0
    warmup_lr: float | None = None
    note: str = ""

    def __post_init__(self) -> None:
        problems = []
        if self.kind not in SCHEDULE_KINDS:
            problems.append(f"kind must be one of {', '.join(SCHEDULE_KINDS)}, got {self.kind!r}")
        if self.unit not in SCHEDULE_UNITS:
            problems.append(f"unit must be 'epoch' or 'iteration', got {self.unit!r}")
        if self.factor is not None and not 0 < self.factor < 1:
            problems.append(f"factor must be in (0, 1), got {self.factor}")
        if self.kind in ("step", "plateau", "exponential") and self.factor is None:
            problems.append(f"a {self.kind} schedule needs a factor")
        if self.kind == "exponential" and not (self.every or 0) > 0:
            problems.append("an exponential schedule needs every > 0")
        if self.kind == "step" and not (self.milestones or self.every or self.note):
            problems.append("a step schedule needs milestones, every, or a note saying when")
        if self.kind == "piecewise" and len(self.values) != len(self.milestones) + 1:
            problems.append(
                f"a piecewise schedule needs one value more than milestones, got "
                f"{len(self.values)} values for {len(self.milestones)} milestones"
            )
        if list(self.milestones) != sorted(set(self.milestones)):
            problems.append(f"milestones must increase, got {self.milestones}")
        if self.warmup < 0:
            problems.append(f"warmup must be >= 0, got {self.warmup}")
        if problems:
            raise ValueError(f"Schedule {self.kind!r}: " + "; ".join(problems))

    def _decay(self) -> str:
        unit = f"{self.unit}s"
        if self.kind in ("constant", "cosine", "linear"):
            return {"constant": "constant", "cosine": "cosine decay", "linear": "linear decay"}[
                self.kind
            ]
        if self.kind == "plateau":
            return f"x{self.factor:g} when validation error plateaus"
        if self.kind == "piecewise":
            starts = (0, *self.milestones)
            return ", ".join(
                f"{v:g} from {self.unit} {m:g}" for v, m in zip(self.values, starts, strict=True)
            )
        if self.milestones:
            return f"x{self.factor:g} at {unit} {', '.join(f'{m:g}' for m in self.milestones)}"
        if self.every:
            return f"x{self.factor:g} every {self.every:g} {unit}"
        return f"x{self.factor:g} in steps"

    def __str__(self) -> str:
        text = self._decay()
        if self.warmup:
            start = f"at {self.warmup_lr:g}" if self.warmup_lr is not None else "linear"
            text = f"{self.warmup:g} {self.unit}s warm-up {start}, then {text}"
        return f"{text} ({self.note})" if self.note else text


OPTIMIZERS = ("sgd", "rmsprop", "adam", "adamw", "sdlm")

# A recipe's ``init`` with exactly this text makes training re-initialise the network
# (convzoo.train.recipe.he_init) instead of keeping the model's own initialisation.
HE_INIT = (
    "He et al. (2015): Kaiming-normal weights (fan-out for convolutions, fan-in for "
    "linear layers, ReLU gain), biases 0; normalisation layers keep scale 1, shift 0"
)

# A recipe's ``init`` with exactly this text makes training zero the scale of the last
# normalisation in every residual branch (convzoo.train.recipe.zero_residual_init).
ZERO_RESIDUAL_INIT = (
    "the model's own, with the last normalisation of every residual branch at scale 0, so "
    "each block starts as the identity (Goyal et al. 2017, arXiv:1706.02677, section 5.1)"
)

# The fields a paper's recipe must state or explicitly mark as not stated.
_CORE = ("optimizer", "lr", "batch_size", "schedule")
# (field, lowest, highest, whether the lowest is allowed)
_RANGES = (
    ("lr", 0.0, 10.0, False),
    ("epochs", 0.0, 10_000.0, False),
    ("momentum", 0.0, 1.0, True),
    ("rmsprop_decay", 0.0, 1.0, False),
    ("eps", 0.0, 10.0, False),
    ("weight_decay", 0.0, 1.0, True),
    ("dropout", 0.0, 1.0, True),
    ("drop_path", 0.0, 1.0, True),
    ("label_smoothing", 0.0, 1.0, True),
    ("aux_loss_weight", 0.0, 10.0, True),
    ("bn_momentum", 0.0, 1.0, False),
)


@dataclass(frozen=True)
class Recipe:
    """How a network was (or is to be) trained, one keyword per setting.

    None means "not used" unless the field is listed in ``not_stated``, which
    says the paper is silent about it. ``optimizer``, ``lr``, ``batch_size``,
    ``schedule`` and the length (``epochs`` or ``iterations``) must be given or
    listed there. ``lr`` is the rate at ``batch_size``; ``source`` names the
    paper's section or table (or says why the zoo's default differs).
    """

    source: str
    optimizer: str | None = None
    lr: float | None = None
    batch_size: int | None = None
    schedule: Schedule | None = None
    epochs: float | None = None
    iterations: int | None = None
    momentum: float | None = None
    nesterov: bool = False
    rmsprop_decay: float | None = None  # RMSProp's moving-average decay (torch: alpha)
    eps: float | None = None
    weight_decay: float | None = None
    dropout: float | None = None
    drop_path: float | None = None  # stochastic depth: the deepest block's drop rate
    label_smoothing: float | None = None
    aux_loss_weight: float | None = None  # per auxiliary head
    # batch norm's running-statistics momentum, torch's convention (TensorFlow's 0.99 = 0.01)
    bn_momentum: float | None = None
    augmentation: str | None = None
    init: str | None = None
    notes: tuple[str, ...] = ()
    not_stated: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems = []
        if not self.source:
            problems.append("needs a source (the paper's section or table)")
        if self.optimizer is not None and self.optimizer not in OPTIMIZERS:
            problems.append(
                f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"
            )
        for name, low, high, low_ok in _RANGES:
            value = getattr(self, name)
            if value is not None and not (low <= value <= high and (low_ok or value > low)):
                bracket = "[" if low_ok else "("
                problems.append(f"{name} must be in {bracket}{low:g}, {high:g}], got {value}")
        for name in ("batch_size", "iterations"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                problems.append(f"{name} must be a positive integer, got {value!r}")
        if self.rmsprop_decay is not None and self.optimizer != "rmsprop":
            problems.append(f"rmsprop_decay is for RMSProp, not {self.optimizer!r}")
        problems += self._not_stated_problems()
        if problems:
            raise ValueError(f"Recipe ({self.source or 'no source'}): " + "; ".join(problems))

    def _not_stated_problems(self) -> list[str]:
        names = {f.name for f in fields(self)} - {"source", "notes", "not_stated", "nesterov"}
        problems = [
            f"not_stated lists {name!r}, which is not a recipe field ({', '.join(sorted(names))})"
            for name in self.not_stated
            if name not in names
        ]
        problems += [
            f"{name} is listed as not stated but has a value ({getattr(self, name)!r})"
            for name in self.not_stated
            if name in names and getattr(self, name) is not None
        ]
        missing = [n for n in _CORE if getattr(self, n) is None and n not in self.not_stated]
        no_length = self.epochs is None and self.iterations is None
        if no_length and not {"epochs", "iterations"} & set(self.not_stated):
            missing.append("epochs (or iterations)")
        if missing:
            problems.append(
                f"{', '.join(missing)} must be given or listed in not_stated (the paper is silent)"
            )
        return problems

    def rows(self) -> list[tuple[str, str]]:
        """(setting, value) pairs for people: what is set, and what the paper leaves out."""
        rows = []
        for f in fields(self):
            if f.name in ("source", "notes", "not_stated", "nesterov"):
                continue
            value = getattr(self, f.name)
            if f.name in self.not_stated:
                rows.append((f.name, "not stated"))
            elif value is not None:
                text = f"{value:g}" if isinstance(value, float) else str(value)
                if f.name == "optimizer" and self.nesterov:
                    text += " (Nesterov)"
                rows.append((f.name, text))
        rows += [("note", note) for note in self.notes]
        rows.append(("source", self.source))
        return rows

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["schedule"] = (
            None if self.schedule is None else {**data["schedule"], "text": str(self.schedule)}
        )
        return data


def _paper_field(name: str) -> property:
    """A card's read-only view of its paper's field `name`."""
    return property(lambda card: getattr(card.paper, name), doc=f"The paper's {name}.")


@dataclass(frozen=True)
class ModelCard:
    """What a student needs to know about one registered network."""

    name: str
    family: str
    paper: Paper
    table: str  # the table/figure of the paper this config encodes
    key_ideas: tuple[str, ...]
    input_size: tuple[int, int, int]  # (C, H, W) of the paper's network
    recipe: Recipe  # how the paper trained it
    paper_params: Reported | None = None
    paper_macs: Reported | None = None
    accuracy: Accuracy | None = None  # as the paper reports it, with its protocol
    accuracy_note: str | None = None  # why a classifier has no accuracy
    dataset: str = "ImageNet"  # the dataset the paper's numbers refer to
    num_classes: int = 1000
    twins: tuple[Twin, ...] = ()
    deviations: tuple[str, ...] = ()
    task: str = "classification"  # or "segmentation"
    default_recipe: Recipe | None = None  # what the zoo trains with, where it differs
    default_reason: str | None = None  # why the default differs from the paper's recipe

    def __post_init__(self) -> None:
        problems = []
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            problems.append(f"name must be lower_snake_case, got {self.name!r}")
        if not 2 <= len(self.key_ideas) <= 5:
            problems.append(f"needs 2-5 key ideas, got {len(self.key_ideas)}")
        if len(self.input_size) != 3:
            problems.append(f"input_size must be (C, H, W), got {self.input_size}")
        if self.task not in ("classification", "segmentation"):
            problems.append(f"task must be classification or segmentation, got {self.task!r}")
        if not isinstance(self.paper, Paper):
            problems.append(f"paper must be a Paper, got {type(self.paper).__name__}")
        if not isinstance(self.recipe, Recipe):
            problems.append(f"recipe must be a Recipe, got {type(self.recipe).__name__}")
        if (self.default_recipe is None) != (self.default_reason is None):
            problems.append("default_recipe and default_reason go together (one is missing)")
        if self.accuracy is not None and self.accuracy_note:
            problems.append("give an accuracy or a note on why there is none, not both")
        imagenet = self.dataset == "ImageNet" and self.task == "classification"
        if imagenet and self.accuracy is None and not self.accuracy_note:
            problems.append(
                "an ImageNet classifier needs the paper's accuracy or an accuracy_note "
                "saying why there is none"
            )
        if problems:
            raise ValueError(f"ModelCard {self.name!r}: " + "; ".join(problems))

    # The paper's fields, read through the shared record.
    title = _paper_field("title")
    authors = _paper_field("authors")
    year = _paper_field("year")
    arxiv = _paper_field("arxiv")
    citation = _paper_field("citation")
    reference = _paper_field("reference")

    @property
    def paper_top1(self) -> float | None:
        """Top-1 accuracy in percent as the paper reports it (see `accuracy` for how)."""
        return self.accuracy.top1 if self.accuracy else None

    @property
    def training_recipe(self) -> Recipe:
        """The recipe the zoo trains with: the default where one is set, else the paper's."""
        return self.default_recipe or self.recipe

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: every field, the paper's fields flattened, recipes with their text."""
        data = asdict(self)
        data.update(asdict(self.paper))
        data["paper_top1"] = self.paper_top1
        data["twins"] = [str(t) for t in self.twins]
        data["recipe"] = self.recipe.as_dict()
        data["default_recipe"] = self.default_recipe.as_dict() if self.default_recipe else None
        return data
