"""The one model contract every convzoo classifier follows.

    stem -> stages -> head

``forward_features`` runs stem and stages, ``forward_head`` the head,
``forward_stages`` returns the stem's and every stage's output (the maps listed
in ``feature_info``), which is what `features_only=True` backbones return: its
last map is exactly ``forward_features`` (including the last BN-ReLU of the
pre-activation designs), and a backbone keeps only the modules its maps use.
Inputs are checked at the boundary so a wrong shape gives a readable
``ValueError`` instead of a shape mismatch deep inside torch.
"""

from __future__ import annotations

import inspect
import sys
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import torch
from torch import Tensor, nn

from convzoo.blocks.geometry import smallest_input_size
from convzoo.registry import ModelCard, Recipe, Schedule, register

__all__ = [
    "AuxClassifierNet",
    "AuxOutput",
    "ConvNet",
    "FeatureExtractor",
    "FeatureInfo",
    "FeatureInfoList",
    "FinalNormNet",
    "PlainStages",
    "dataset_fields",
    "measured_default",
    "new_output_layer",
    "register_variant",
    "registrar",
]

M = TypeVar("M", bound=nn.Module)


class AuxOutput(NamedTuple):
    """What a network with auxiliary classifiers returns in training mode.

    ``logits`` come from the main head; ``aux`` holds the auxiliary heads' logits
    in network order (GoogLeNet: after 4a, after 4d). In eval mode such a network
    returns plain logits.
    """

    logits: Tensor
    aux: tuple[Tensor, ...]


@dataclass(frozen=True)
class FeatureInfo:
    """One feature map a backbone can hand out."""

    name: str  # the paper's name for the stage, e.g. "conv3_x"
    channels: int
    stride: int  # total stride (reduction) relative to the input

    @property
    def reduction(self) -> int:
        """timm's name for the total stride."""
        return self.stride


class FeatureInfoList(list[FeatureInfo]):
    """The maps a backbone returns, with timm-style ``channels()`` / ``reductions()``."""

    def channels(self) -> list[int]:
        return [f.channels for f in self]

    def reductions(self) -> list[int]:
        return [f.stride for f in self]

    def names(self) -> list[str]:
        return [f.name for f in self]


def new_output_layer(layer: nn.Module, num_classes: int) -> nn.Module:
    """A freshly initialised copy of a Linear / 1x1-conv output layer with `num_classes` outputs."""
    if isinstance(layer, nn.Linear):
        return nn.Linear(layer.in_features, num_classes, bias=layer.bias is not None)
    if isinstance(layer, nn.Conv2d):
        return nn.Conv2d(
            layer.in_channels,
            num_classes,
            layer.kernel_size,
            stride=layer.stride,
            padding=layer.padding,
            bias=layer.bias is not None,
        )
    raise TypeError(f"cannot resize an output layer of type {type(layer).__name__}")


class ConvNet(nn.Module):
    """Base class of every registered classifier.

    Subclasses assign ``stem``, ``stages`` (an ``nn.Sequential`` whose children
    are named after the paper's stages), ``head`` (whose final layer is
    ``head.fc``) and ``feature_info`` (stem first, then one entry per stage).

    ``min_input_size`` is the smallest spatial size the network accepts;
    ``fixed_input_size`` is set by networks whose fully connected head only
    works at one size (e.g. LeNet-5's C5, AlexNet's fc6 without adaptive pooling).
    """

    stem: nn.Module
    stages: nn.Sequential
    head: nn.Module
    feature_info: list[FeatureInfo]

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        *,
        default_input_size: tuple[int, int],
        min_input_size: int,
        fixed_input_size: bool = False,
    ) -> None:
        super().__init__()
        if in_channels < 1:
            raise ValueError(f"in_channels must be >= 1, got {in_channels}")
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.default_input_size = default_input_size
        self.min_input_size = min_input_size
        self.fixed_input_size = fixed_input_size

    # -- the boundary -----------------------------------------------------
    @property
    def display_name(self) -> str:
        card = getattr(self, "card", None)
        return card.name if card is not None else type(self).__name__

    def expected_input(self) -> str:
        if self.fixed_input_size:
            h, w = self.default_input_size
            return f"(N, {self.in_channels}, {h}, {w})"
        return f"(N, {self.in_channels}, H, W) with H, W >= {self.min_input_size}"

    def check_input(self, x: Tensor) -> None:
        if not x.is_floating_point():
            raise TypeError(
                f"{self.display_name} expects a floating-point image tensor, got {x.dtype} "
                "(convert with x.float() and normalise as in training)"
            )
        weight = next(self.parameters(), None)
        if (
            weight is not None
            and x.dtype != weight.dtype
            and not torch.is_autocast_enabled(x.device.type)
        ):
            raise TypeError(
                f"{self.display_name} has {weight.dtype} weights but got a {x.dtype} input; "
                f"convert the input (x.to({weight.dtype})) or the model (model.to({x.dtype}))"
            )
        ok = x.dim() == 4 and x.shape[1] == self.in_channels
        if ok and self.fixed_input_size:
            ok = tuple(x.shape[-2:]) == tuple(self.default_input_size)
        elif ok:
            ok = min(x.shape[-2:]) >= self.min_input_size
        if not ok:
            raise ValueError(
                f"{self.display_name} expects input {self.expected_input()}, got {tuple(x.shape)}"
            )

    # -- the contract -----------------------------------------------------
    def forward_features(self, x: Tensor) -> Tensor:
        self.check_input(x)
        return self.forward_final(self.stages(self.stem(x)))

    def forward_final(self, x: Tensor) -> Tensor:
        """What follows the last stage before the head: nothing, unless a subclass says so."""
        return x

    def forward_head(self, x: Tensor) -> Tensor:
        return self.head(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    def forward_stages(self, x: Tensor) -> list[Tensor]:
        """The stem's and every stage's output, in `feature_info` order."""
        self.check_input(x)
        x = self.stem(x)
        outputs = [x]
        for stage in self.stages:
            x = stage(x)
            outputs.append(x)
        outputs[-1] = self.forward_final(outputs[-1])
        return outputs

    def strip_to_backbone(self, num_stages: int) -> None:
        """Keep the stem and the first `num_stages` stages; drop everything else.

        What goes has no parameters and costs nothing: the head, the later stages,
        and (in subclasses) whatever only the classifier used.
        """
        if not 0 <= num_stages <= len(self.stages):
            raise ValueError(f"num_stages must be in 0..{len(self.stages)}, got {num_stages}")
        self.head = nn.Identity()
        if num_stages < len(self.stages):
            kept = list(self.stages.named_children())[:num_stages]
            self.stages = nn.Sequential(OrderedDict(kept))  # keeps the paper's stage names

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the final layer so the network predicts `num_classes` classes."""
        self.head.fc = new_output_layer(self.head.fc, num_classes)
        self.num_classes = num_classes


class FinalNormNet(ConvNet):
    """A ConvNet whose last stage ends un-activated, followed by ``final`` (a BN-ReLU).

    Pre-activation designs (DenseNet, pre-activation ResNet, WRN) normalise the
    sum of the last block once, after all stages; that BN-ReLU belongs to the
    last stage's map, so a backbone cut before the last stage drops it.
    """

    final: nn.Module

    def forward_final(self, x: Tensor) -> Tensor:
        return self.final(x)

    def strip_to_backbone(self, num_stages: int) -> None:
        full = len(self.stages)
        super().strip_to_backbone(num_stages)
        if num_stages < full:
            self.final = nn.Identity()


class AuxClassifierNet(ConvNet):
    """A ConvNet with auxiliary classifiers (GoogLeNet, Inception-v3).

    ``aux_heads`` maps the name of a layer inside a stage (e.g. "4a") to the head
    that hangs off its output. In training mode forward returns `AuxOutput`;
    in eval mode, or without heads, plain logits.
    """

    aux_heads: nn.ModuleDict
    min_input_size_without_aux: int  # what a backbone (no aux heads) accepts

    def forward(self, x: Tensor) -> Tensor | AuxOutput:
        if not (self.training and len(self.aux_heads)):
            return super().forward(x)
        self.check_input(x)
        x = self.stem(x)
        aux: list[Tensor] = []
        for stage in self.stages:
            for name, layer in stage.named_children():
                x = layer(x)
                if name in self.aux_heads:
                    aux.append(self.aux_heads[name](x))
        if len(aux) != len(self.aux_heads):
            raise RuntimeError(f"auxiliary heads {list(self.aux_heads)} found {len(aux)} taps")
        return AuxOutput(self.forward_head(self.forward_final(x)), tuple(aux))

    def strip_to_backbone(self, num_stages: int) -> None:
        super().strip_to_backbone(num_stages)
        self.aux_heads = nn.ModuleDict()  # training-time classifiers: no part of any map
        self.min_input_size = self.min_input_size_without_aux

    def reset_classifier(self, num_classes: int) -> None:
        super().reset_classifier(num_classes)
        for head in self.aux_heads.values():
            head.fc = new_output_layer(head.fc, num_classes)


class FeatureExtractor(nn.Module):
    """A classifier without its head: forward returns the maps at `out_indices`.

    Indices point into the classifier's ``feature_info`` (0 = stem, then one per
    stage; negative indices count from the end). Takes ownership of `model` and
    strips it to what those maps use: stages after the last index, the head, the
    auxiliary classifiers and decoders go, so every parameter left gets a gradient
    (DistributedDataParallel needs no ``find_unused_parameters``). The map of the
    last stage is the classifier's ``forward_features``.
    """

    def __init__(self, model: ConvNet, out_indices: Sequence[int] | None = None) -> None:
        super().__init__()
        if not isinstance(model, ConvNet):
            raise TypeError(f"{type(model).__name__} does not provide stage features")
        available = list(model.feature_info)
        self.out_indices = _check_out_indices(out_indices, available, model.display_name)
        model.strip_to_backbone(self.out_indices[-1])  # index i is the output of stage i
        self.model = model
        self.feature_info = FeatureInfoList(available[i] for i in self.out_indices)
        self.in_channels = model.in_channels
        self.card = getattr(model, "card", None)

    def forward(self, x: Tensor) -> list[Tensor]:
        maps = self.model.forward_stages(x)
        return [maps[i] for i in self.out_indices]


def _check_out_indices(
    out_indices: Sequence[int] | None, available: list[FeatureInfo], model_name: str
) -> tuple[int, ...]:
    """`out_indices` as increasing non-negative ints, or a ValueError naming the choices."""
    n = len(available)
    if out_indices is None:
        return tuple(range(n))
    choices = ", ".join(f"{i}={f.name}" for i, f in enumerate(available))
    if isinstance(out_indices, int | str) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in out_indices
    ):
        raise ValueError(f"out_indices must be a sequence of ints, got {out_indices!r}")
    if not out_indices:
        raise ValueError(f"out_indices is empty; {model_name} has maps {choices}")
    bad = [i for i in out_indices if not -n <= i < n]
    if bad:
        raise ValueError(
            f"out_indices {bad} out of range for {model_name}, whose maps are {choices}"
        )
    indices = tuple(i % n for i in out_indices)
    if list(indices) != sorted(set(indices)):
        raise ValueError(
            f"out_indices must be increasing without repeats, got {tuple(out_indices)}"
        )
    return indices


@torch.no_grad()
def init_weights_like_torchvision(module: nn.Module) -> None:
    """Kaiming-normal (fan_out) convs, unit norms, small normal linears."""
    if any(p.is_meta for p in module.parameters()):
        return  # nothing to fill, and random init on meta tensors is slow (~60 ms a tensor)
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.GroupNorm | nn.LayerNorm):
            if m.weight is not None:
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def register_variant(
    card: ModelCard, model: type[M], *args: Any, module: str | None = None, **defaults: Any
) -> Callable[..., M]:
    """Register ``model(*args, **defaults)`` under ``card.name``; keyword overrides win.

    Families whose variants differ only in their table row and defaults register
    them from a table in a loop instead of one near-identical function each. The
    builder belongs to `module` (by default the caller's), the family's module.
    """

    def build(**overrides: Any) -> M:
        return model(*args, **{**defaults, **overrides})

    build.__name__ = build.__qualname__ = card.name
    # the family module that registers the variant (and cites its paper), not this one
    build.__module__ = module or sys._getframe(1).f_globals["__name__"]
    # the class's keyword parameters, which `accepted_overrides` and `--help` read
    keywords = list(inspect.signature(model).parameters.values())[len(args) :]
    build.__signature__ = inspect.Signature(keywords, return_annotation=model)  # type: ignore[attr-defined]
    return register(card)(build)


def registrar(card: Callable[..., ModelCard], model: type[nn.Module]) -> Callable[..., None]:
    """``register(name, config, *card_args)``: ``model(config)`` under `name`, its card
    made by ``card(name, *card_args)``; families whose cards differ row by row list
    their variants so."""

    def register_row(name: str, config: Any, *args: Any, **kwargs: Any) -> None:
        register_variant(card(name, *args, **kwargs), model, config, module=card.__module__)

    return register_row


def measured_default(
    *, warmup: float = 0.0, optimizer: str = "sgd", batch_size: int = 128, **settings: Any
) -> Recipe:
    """A default training recipe the zoo measured (docs/training.md, "Defaults that
    learn") where the paper's cannot be run as printed: `optimizer` (SGD) with its rate
    given for `batch_size` (128) images, a cosine decay after `warmup` epochs of linear
    warm-up, and the family's `settings`."""
    return Recipe(
        source="convzoo default (measured: docs/training.md, Defaults that learn)",
        optimizer=optimizer,
        batch_size=batch_size,
        schedule=Schedule("cosine", warmup=warmup),
        **settings,
    )


SHORT_RUN_NOTES = ("cosine over the run's --epochs", "warm-up at most a tenth of the run")


def adamw_default(lr: float, **settings: Any) -> Recipe:
    """The measured default of the deep networks without normalisation that SGD does not
    start in a short run (GoogLeNet, ConvPool-CNN-C): AdamW at `lr` per 32 images, weight
    decay 0.05, a quarter epoch of warm-up, then cosine; `settings` for the rest."""
    return measured_default(
        optimizer="adamw",
        lr=lr,
        batch_size=32,
        weight_decay=0.05,
        warmup=0.25,
        notes=SHORT_RUN_NOTES,
        not_stated=("epochs",),
        **settings,
    )


SHORT_RUN_REASON = (
    "The paper's recipe was tuned for {paper} on ImageNet; in a short run on small "
    "images it stays near chance or diverges (docs/training.md, Defaults that learn). "
    "SGD at 0.08 per 128 images (linearly scaled to the batch used) with a quarter "
    "epoch of warm-up learns."
)


def short_run_default(
    weight_decay: float, *, paper: str, why: str = "", **settings: Any
) -> dict[str, Any]:
    """The card fields (``default_recipe``, ``default_reason``) of the measured default
    of the ImageNet mobile and design-space families (MobileNet, EfficientNet, RegNet,
    NASNet-A)
    on short runs: plain SGD with warm-up in place of the papers' recipe, `paper` (e.g.
    "RMSProp at batch 96"). In 2 epochs of a 2,048-image 32x32 set at batch 32
    (benchmarks/learning_check.py): MobileNetV2 88.3%, EfficientNet-B0 87.3% (96.6% with
    its blocks starting as the identity),
    RegNetX-400MF 83.4% validation top-1, where the papers' recipes gave 27.3%, a
    divergence and 25.4% (docs/training.md, Defaults that learn). Where the family needs
    more, `settings` (Recipe fields, e.g. ``init``) and `why` (sentences for the reason)."""
    recipe = measured_default(
        lr=0.08,
        momentum=0.9,
        weight_decay=weight_decay,
        warmup=0.25,
        not_stated=("epochs",),
        notes=SHORT_RUN_NOTES,
        **settings,
    )
    reason = SHORT_RUN_REASON.format(paper=paper) + (f" {why}" if why else "")
    return {"default_recipe": recipe, "default_reason": reason}


def dataset_fields(cifar: bool, *, cifar_recipe: Recipe, imagenet_recipe: Recipe) -> dict[str, Any]:
    """The card fields that follow from the dataset a variant is for: CIFAR-10's
    32x32 images and 10 classes, or ImageNet's 224x224 crops and 1000 classes."""
    return {
        "input_size": (3, 32, 32) if cifar else (3, 224, 224),
        "recipe": cifar_recipe if cifar else imagenet_recipe,
        "dataset": "CIFAR-10" if cifar else "ImageNet",
        "num_classes": 10 if cifar else 1000,
    }


class PlainStages:
    """The body of a single-path network (AlexNet, NiN, All-CNN) built stage by stage:
    each stage a Sequential of named layers, with its `FeatureInfo`."""

    def __init__(self, in_channels: int) -> None:
        self.stages = nn.Sequential()
        self.feature_info = [FeatureInfo("stem", in_channels, 1)]

    def add(self, name: str, layers: dict[str, nn.Module], channels: int, stride: int) -> None:
        self.stages.add_module(name, nn.Sequential(OrderedDict(layers)))
        self.feature_info.append(FeatureInfo(name, channels, stride))

    def adopt(
        self, net: ConvNet, stem: nn.Module, *, in_channels: int, num_classes: int, input_size: int
    ) -> None:
        """Initialise `net` as a ConvNet whose smallest input is the one these stages
        still map to a non-empty output, and hand it the stem, stages and feature info."""
        ConvNet.__init__(
            net,
            in_channels,
            num_classes,
            default_input_size=(input_size, input_size),
            min_input_size=smallest_input_size(self.stages),
        )
        net.stem = stem
        net.stages = self.stages
        net.feature_info = self.feature_info
