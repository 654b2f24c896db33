"""The lineage table: the d2l chapter-8 networks and their successors on Fashion-MNIST.

One equal budget for every network (the book's 10 epochs, batch 128, the same
augmentation), each with the default recipe on its card (optimizer, learning rate,
warm-up and initialisation that make it learn: one shared rate diverges for the
networks without normalisation), each at the smallest input it accepts (at least
28 px): "scaled to the data" instead of d2l's 224/96 px upsampling, so the whole table
trains on a CPU.
"""

from __future__ import annotations

from convzoo.experiments.core import Analysis, Arm, Budget, Context, Experiment, register_experiment
from convzoo.experiments.verdict import Better

# Test accuracy after 10 epochs as printed in Dive into Deep Learning (d2l.ai), chapter 8
# (LeNet: section 7.6), Fashion-MNIST upsampled to 224 px (96 px for ResNet-18).
D2L_10_EPOCHS = {
    "lenet5": 0.79,
    "alexnet": 0.88,
    "vgg11": 0.92,
    "googlenet": 0.90,
    "resnet18": 0.92,
}

LINEAGE = (
    "lenet5",
    "alexnet",
    "vgg11",
    "nin",
    "googlenet",
    "resnet18",
    "resnext50_32x4d",
    "densenet121",
    "regnetx_200mf",
    "mobilenet_v1",
    "mobilenet_v2",
    "efficientnet_b0",
    "convnext_tiny",
)
QUICK_LINEAGE = ("lenet5", "lenet5_modern", "resnet20", "mobilenet_v2_035")

# the budget held equal; the rest is each card's default recipe (d2l, too, tunes the rate
# per network: 0.9 for LeNet without momentum ... 0.01 for AlexNet)
RECIPE = {"batch_size": 128}


def _lineage_table(ctx: Context) -> Analysis:
    rows = []
    for arm in ctx.arms:
        stats = ctx.stats.get(arm.label, {})
        if "test_acc" not in stats:
            continue
        book = D2L_10_EPOCHS.get(arm.label)
        rows.append(
            [
                arm.label,
                ctx.input_sizes.get(arm.label, ctx.input_size),
                stats["test_acc"],
                f"{book:.2f}" if book is not None else "-",
                stats["params"],
                stats["macs"],
                stats["wall_time_s"],
                stats["img_per_s"],
            ]
        )
    return Analysis(
        tables=[
            (
                "The lineage (test top-1 %, mean ± std over seeds; d2l: fraction after 10 epochs)",
                [
                    "network",
                    "px",
                    "test top-1",
                    "d2l 10 ep.",
                    "params",
                    "MACs",
                    "time (s)",
                    "img/s",
                ],
                rows,
            )
        ],
        notes=[
            "d2l trains at 224 px (ResNet-18: 96 px) with a learning rate tuned per network; "
            "here every network trains at its smallest accepted input with its default recipe",
            "BN-LeNet (d2l 8.5) is not a registered network; the batchnorm experiment tests "
            "batch normalization on one network with and without it",
        ],
    )


register_experiment(
    Experiment(
        name="lineage",
        title="The lineage on Fashion-MNIST: LeNet-5 to ConvNeXt under one budget",
        claim=(
            "Twenty-five years of architecture moved accuracy: under the same budget the later "
            "networks beat LeNet-5."
        ),
        source="Zhang, Lipton, Li, Smola, Dive into Deep Learning, chapter 8 (10-epoch numbers)",
        protocol=(
            "Every network registered under its paper's name, one budget: 10 epochs at batch "
            "128 with random crops and flips, each with its card's default recipe (`convzoo "
            "info NAME`), at its smallest accepted input (>= 28 px). Params and MACs at that "
            "input; training time and images/s measured on this machine. The rule: ResNet-18 "
            "more accurate than LeNet-5. `--quick` trains a four-network subset on digits."
        ),
        arms=tuple(Arm(name, name) for name in LINEAGE),
        quick_arms=tuple(Arm(name, name) for name in QUICK_LINEAGE),
        rule=Better("test_acc", "resnet18", "lenet5"),
        quick_rule=Better("test_acc", "resnet20", "lenet5"),
        full=Budget("fashion-mnist", epochs=10, settings=RECIPE),
        headline=("test_acc", "img_per_s"),
        analyze=_lineage_table,
    )
)
