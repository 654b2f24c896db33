"""LeNet-5: the convolutional network that read cheques.

LeCun, Bottou, Bengio, Haffner (1998). Gradient-Based Learning Applied to
Document Recognition. Proceedings of the IEEE 86(11):2278-2324. Section II-B
and Fig. 2 (the layers C1-S2-C3-S4-C5-F6), Table I (which S2 maps each C3 map
sees), Appendix A (the squashing function and the initialisation).

Layer by layer, at the paper's 32x32 input:

    C1  6 maps 28x28, 5x5 convolution                          156 params
    S2  6 maps 14x14, 2x2 sum x coefficient + bias per map      12
    C3 16 maps 10x10, 5x5 convolution over subsets of S2     1,516
    S4 16 maps 5x5, like S2                                     32
    C5 120 maps 1x1, 5x5 convolution over all of S4          48,120
    F6 84 units, fully connected                             10,164

Every unit applies the scaled tanh ``f(a) = A tanh(S a)`` with A = 1.7159 and
S = 2/3 (Appendix A), chosen so that f(1) = 1 and f(-1) = -1.

Deviation: the output layer is a plain linear layer with ``num_classes`` units.
The paper uses Euclidean RBF units whose 84-dimensional centres are fixed 7x12
bitmaps of the characters, trained with a special criterion; a linear layer +
cross-entropy is what every modern re-implementation uses.

``lenet5_modern`` is the common textbook simplification: ReLU, 2x2 max-pooling
and a fully connected C3 (61,706 params for 10 classes).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from convzoo.models.base import ConvNet, FeatureInfo, measured_default
from convzoo.registry import HE_INIT, Accuracy, ModelCard, Paper, Recipe, Schedule, register

__all__ = ["LeNet5", "LeNetConfig", "PartialConv2d", "ScaledTanh", "Subsampling"]

PAPER = Paper(
    title="Gradient-Based Learning Applied to Document Recognition",
    authors="LeCun, Bottou, Bengio, Haffner",
    year=1998,
    citation="Proceedings of the IEEE 86(11):2278-2324",
)
# Section II-C, Appendix A (initialization) and Appendix C (the optimizer and the
# global learning-rate schedule, in passes through the training set).
RECIPE = Recipe(
    source="Section II-C, Appendices A and C",
    optimizer="sdlm",  # stochastic diagonal Levenberg-Marquardt, one pattern per update
    batch_size=1,
    lr=0.0005,
    schedule=Schedule(
        "piecewise",
        milestones=(2, 5, 8, 12),
        values=(0.0005, 0.0002, 0.0001, 0.00005, 0.00001),
    ),
    epochs=20,
    init="uniform in (-2.4 / F_in, 2.4 / F_in), F_in the fan-in of the unit",
    augmentation="none for the 0.95% result; 0.8% with artificially distorted training images",
    notes=(
        "SDLM's safety constant mu = 0.02; curvature re-estimated on 500 patterns before each pass",
    ),
)

# Table I: the S2 maps (0-5) combined by each of C3's 16 maps. The first six see
# three neighbouring maps, the next six four neighbours, three see four
# non-neighbours and the last sees all six - breaking symmetry so the maps
# learn different features, and keeping the connection count down.
C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2),
    (1, 2, 3),
    (2, 3, 4),
    (3, 4, 5),
    (4, 5, 0),
    (5, 0, 1),
    (0, 1, 2, 3),
    (1, 2, 3, 4),
    (2, 3, 4, 5),
    (3, 4, 5, 0),
    (4, 5, 0, 1),
    (5, 0, 1, 2),
    (0, 1, 3, 4),
    (1, 2, 4, 5),
    (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


class ScaledTanh(nn.Module):
    """``A * tanh(S * x)`` (Appendix A): A = 1.7159, S = 2/3 give f(+-1) = +-1."""

    def __init__(self, amplitude: float = 1.7159, slope: float = 2 / 3) -> None:
        super().__init__()
        self.amplitude = amplitude
        self.slope = slope

    def forward(self, x: Tensor) -> Tensor:
        return self.amplitude * torch.tanh(self.slope * x)

    def extra_repr(self) -> str:
        return f"amplitude={self.amplitude}, slope={self.slope:.4f}"


class Subsampling(nn.Module):
    """S2/S4: sum each 2x2 block, multiply by a trainable coefficient, add a bias.

    One coefficient and one bias per map (Section II-B), so 2 parameters per map.
    """

    def __init__(self, channels: int, *, kernel_size: int = 2) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        # divisor_override=1 turns the average into a sum; halves H, W
        total = F.avg_pool2d(x, self.kernel_size, divisor_override=1)
        return total * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class PartialConv2d(nn.Module):
    """A convolution in which output map ``i`` sees only the input maps ``table[i]``.

    Maps with the same number of inputs are computed together by one grouped
    convolution over the gathered inputs (Table I needs three: fan-in 3, 4 and
    6), so the parameters are exactly the paper's: ``k*k*len(table[i]) + 1`` per map.
    """

    def __init__(
        self, in_channels: int, table: tuple[tuple[int, ...], ...], *, kernel_size: int
    ) -> None:
        super().__init__()
        for i, inputs in enumerate(table):
            if not inputs or len(set(inputs)) != len(inputs):
                raise ValueError(f"table row {i} needs distinct input maps, got {inputs}")
            if not all(0 <= j < in_channels for j in inputs):
                raise ValueError(
                    f"table row {i} must name input maps 0..{in_channels - 1}, got {inputs}"
                )
        self.in_channels = in_channels
        self.out_channels = len(table)
        fan_ins = sorted({len(inputs) for inputs in table})
        self.convs = nn.ModuleDict()
        order: list[int] = []
        for fan_in in fan_ins:
            maps = [i for i, inputs in enumerate(table) if len(inputs) == fan_in]
            gather = [j for i in maps for j in table[i]]
            self.register_buffer(f"gather_{fan_in}", torch.tensor(gather), persistent=False)
            self.convs[f"fan_in_{fan_in}"] = nn.Conv2d(
                len(gather), len(maps), kernel_size, groups=len(maps)
            )
            order += maps
        # position of every output map in the concatenation of the groups
        self.register_buffer(
            "position", torch.tensor([order.index(i) for i in range(len(table))]), persistent=False
        )

    def forward(self, x: Tensor) -> Tensor:
        outputs = [
            conv(x.index_select(1, getattr(self, f"gather_{name.removeprefix('fan_in_')}")))
            for name, conv in self.convs.items()
        ]
        return torch.cat(outputs, dim=1).index_select(1, self.position)  # (N, len(table), H, W)


@dataclass(frozen=True)
class LeNetConfig:
    """Fig. 2: the widths of C1, C3, C5, F6 and how the layers are built."""

    c1: int = 6
    c3: int = 16
    c5: int = 120
    f6: int = 84
    kernel_size: int = 5
    c3_table: tuple[tuple[int, ...], ...] | None = None  # None: every C3 map sees all of S2
    trainable_subsampling: bool = True  # False: 2x2 max-pooling
    scaled_tanh: bool = True  # False: ReLU

    def __post_init__(self) -> None:
        if min(self.c1, self.c3, self.c5, self.f6, self.kernel_size) < 1:
            raise ValueError(f"LeNetConfig needs positive widths and kernel size, got {self}")
        if self.c3_table is not None and len(self.c3_table) != self.c3:
            raise ValueError(
                f"c3_table needs one row per C3 map ({self.c3}), got {len(self.c3_table)}"
            )


# Fig. 2 and Table I.
LENET5 = LeNetConfig(c3_table=C3_TABLE)
# The textbook simplification.
LENET5_MODERN = LeNetConfig(trainable_subsampling=False, scaled_tanh=False)


class LeNet5(ConvNet):
    """C1-S2-C3-S4-C5 as ``stages``, F6 and the output layer as ``head``."""

    def __init__(self, config: LeNetConfig, *, num_classes: int = 10, in_channels: int = 1) -> None:
        # C5's 5x5 kernel covers S4's whole 5x5 map only at 32x32
        super().__init__(
            in_channels,
            num_classes,
            default_input_size=(32, 32),
            min_input_size=32,
            fixed_input_size=True,
        )
        self.config = config
        k = config.kernel_size

        def squash() -> nn.Module:
            return ScaledTanh() if config.scaled_tanh else nn.ReLU(inplace=True)

        def subsample(channels: int) -> nn.Sequential:
            if config.trainable_subsampling:
                return nn.Sequential(
                    OrderedDict(pool=Subsampling(channels), act=squash())
                )  # halves H, W
            return nn.Sequential(OrderedDict(pool=nn.MaxPool2d(2)))  # halves H, W

        if config.c3_table is None:
            c3 = nn.Conv2d(config.c1, config.c3, k)
        else:
            c3 = PartialConv2d(config.c1, config.c3_table, kernel_size=k)
        self.stem = nn.Identity()  # the input layer is just the 32x32 image
        self.stages = nn.Sequential(
            OrderedDict(
                c1=nn.Sequential(
                    OrderedDict(conv=nn.Conv2d(in_channels, config.c1, k), act=squash())
                ),
                s2=subsample(config.c1),
                c3=nn.Sequential(OrderedDict(conv=c3, act=squash())),
                s4=subsample(config.c3),
                c5=nn.Sequential(
                    OrderedDict(conv=nn.Conv2d(config.c3, config.c5, k), act=squash())
                ),
            )
        )  # (N, 120, 1, 1) at 32x32
        self.feature_info = [
            FeatureInfo("stem", in_channels, 1),
            FeatureInfo("c1", config.c1, 1),
            FeatureInfo("s2", config.c1, 2),
            FeatureInfo("c3", config.c3, 2),
            FeatureInfo("s4", config.c3, 4),
            FeatureInfo("c5", config.c5, 4),
        ]
        self.head = nn.Sequential(
            OrderedDict(
                flatten=nn.Flatten(1),  # (N, 120, 1, 1) -> (N, 120)
                f6=nn.Linear(config.c5, config.f6),
                act=squash(),
                fc=nn.Linear(config.f6, num_classes),
            )
        )
        if config.scaled_tanh:
            self._init_like_the_paper()

    @torch.no_grad()
    def _init_like_the_paper(self) -> None:
        """Appendix A: uniform in +-2.4 / fan-in, so the tanh starts in its linear range."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
            elif isinstance(m, nn.Linear):
                fan_in = m.in_features
            elif isinstance(m, Subsampling):
                fan_in = m.kernel_size**2
            else:
                continue
            bound = 2.4 / fan_in
            nn.init.uniform_(m.weight, -bound, bound)
            nn.init.uniform_(m.bias, -bound, bound)


_MODERN_RECIPE = replace(
    RECIPE, notes=("the paper's recipe for LeNet-5; it does not train this simplified variant",)
)


# SDLM is not in torch, and the paper's rates (per example, 5e-4 falling to 1e-5) are for
# SDLM's per-weight step sizes: plain SGD at them barely moves. Measured on the synthetic
# set of docs/training.md: plain SGD 0.05 with He initialisation learns in one epoch.
DEFAULT = measured_default(
    lr=0.05,
    # no momentum, no weight decay: as measured
    epochs=20,
    init=HE_INIT,
)
DEFAULT_REASON = (
    "The paper's optimizer (stochastic diagonal Levenberg-Marquardt) is not in torch, and "
    "its rates are for SDLM's per-weight steps: SGD at them (linearly scaled to the batch) "
    "stays at chance for two epochs. Plain SGD at lr 0.05, He initialisation and "
    "a cosine decay learns in the first epoch."
)


def _card(name: str, *, modern: bool) -> ModelCard:
    deviations = [
        "linear output layer (num_classes units) instead of the paper's fixed-bitmap RBF "
        "units; train with cross-entropy instead of the paper's RBF criterion"
    ]
    if modern:
        deviations = [
            "not the paper's network: ReLU instead of the scaled tanh, 2x2 max-pooling "
            "instead of trainable subsampling, C3 connected to all six S2 maps",
            *deviations,
        ]
    return ModelCard(
        name=name,
        family="lenet",
        paper=PAPER,
        table="Section II-B, Fig. 2" + ("" if modern else ", Table I, Appendix A"),
        key_ideas=(
            "Local receptive fields, shared weights and spatial subsampling build in "
            "tolerance to shifts and distortions, with few free parameters.",
            "Convolution and subsampling alternate: feature maps get smaller and more numerous.",
            "C3 connects to chosen subsets of S2 (Table I) to break symmetry and save connections.",
            "The whole pipeline, features included, is learned end to end by gradient descent.",
        ),
        input_size=(1, 32, 32),
        recipe=_MODERN_RECIPE if modern else RECIPE,
        default_recipe=DEFAULT,
        default_reason=DEFAULT_REASON,
        accuracy_note="not the paper's network: it reports no number for it" if modern else None,
        accuracy=None
        if modern
        else Accuracy(
            top1=99.05,  # 0.95% test error
            source="Section III-C",
            protocol="single 32x32 input (the 28x28 digit centred)",
            dataset="MNIST test",
        ),
        dataset="MNIST",
        num_classes=10,
        deviations=tuple(deviations),
    )


@register(_card("lenet5", modern=False))
def lenet5(**overrides) -> LeNet5:  # 60,850 params (60,000 in C1-F6), 0.33M MACs
    return LeNet5(LENET5, **overrides)


@register(_card("lenet5_modern", modern=True))
def lenet5_modern(**overrides) -> LeNet5:  # 61,706 params, 0.42M MACs
    return LeNet5(LENET5_MODERN, **overrides)
