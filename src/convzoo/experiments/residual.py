"""Claims about depth and shortcuts: degradation, SE, ResNeXt cardinality, DenseNet efficiency."""

from __future__ import annotations

from convzoo.experiments.core import Analysis, Arm, Budget, Context, Experiment, register_experiment
from convzoo.experiments.plots import plot_xy
from convzoo.experiments.verdict import AllOf, Better, NotBetter

# The CIFAR recipe of He et al. 2016 section 4.2, as the ResNet cards carry it: SGD 0.1,
# momentum 0.9, weight decay 1e-4, batch 128, x0.1 at 50% and 75% of the run (the paper's
# 32k and 48k of 64k iterations), ResNet-110 warmed up. The weight decay is pinned so that
# arms from other cards (DenseNet, SE) share it.
CIFAR_RECIPE = {"weight_decay": 1e-4}

register_experiment(
    Experiment(
        name="degradation",
        title="Degradation: deeper plain networks train worse, residual ones do not",
        claim=(
            "Stacking more layers makes a plain network's training error higher, while the "
            "same network with identity shortcuts keeps improving with depth."
        ),
        source="He, Zhang, Ren, Sun 2016, Deep Residual Learning, arXiv:1512.03385, Fig. 1 and 6",
        protocol=(
            "The CIFAR networks of section 4.2 (three stages of 3x3 basic blocks, 16/32/64 "
            "channels) at depths 20, 32 and 56, with and without identity shortcuts (option A). "
            "Everything else is identical: data, recipe, seeds. The claim is about "
            "optimisation, so the main number is the final training error."
        ),
        arms=tuple(
            Arm(f"{kind}{depth}", f"{kind}{depth}")
            for kind in ("plain", "resnet")
            for depth in (20, 32, 56)
        ),
        rule=AllOf(
            (
                Better("final_train_err", "plain20", "plain56", higher_is_better=False),
                Better("final_train_err", "resnet56", "plain56", higher_is_better=False),
                Better("final_train_err", "resnet56", "resnet20", higher_is_better=False),
            )
        ),
        full=Budget("fashion-mnist", epochs=30, settings=CIFAR_RECIPE),
        headline=("final_train_err", "test_err"),
    )
)


def _params_vs_accuracy(ctx: Context) -> Analysis:
    points = {
        a.label: (ctx.stats[a.label]["params"].mean, ctx.stats[a.label]["test_acc"])
        for a in ctx.arms
        if a.label in ctx.stats and "test_acc" in ctx.stats[a.label]
    }
    plot_xy(
        points,
        ctx.out / "params_vs_accuracy.png",
        xlabel="parameters",
        ylabel="test top-1 (%)",
        title="accuracy against parameters (mean ± std)",
        logx=True,
    )
    return Analysis(
        figures=[("params_vs_accuracy.png", "test accuracy against parameters")],
    )


register_experiment(
    Experiment(
        name="densenet",
        title="DenseNet: the same accuracy with fewer parameters than a ResNet",
        claim=("A DenseNet reaches the accuracy of a ResNet with a fraction of its parameters."),
        source="Huang, Liu, van der Maaten, Weinberger 2017, arXiv:1608.06993, Fig. 3 and Table 2",
        protocol=(
            "DenseNet-BC-100 (k=12, 0.8M params) against the CIFAR ResNet-56 (0.85M) and "
            "ResNet-110 (1.7M), same data, epochs, batch and weight decay, each with its "
            "paper's CIFAR recipe (ResNets: SGD 0.1, ResNet-110 warmed up; DenseNet: SGD 0.1 "
            "per 64 images, Nesterov; both x0.1 at 50% and 75%). Claim: ResNet-110 is not "
            "more accurate than DenseNet-BC-100 by more than 0.5 points, with twice its "
            "parameters."
        ),
        arms=(
            Arm("resnet56", "resnet56"),
            Arm("resnet110", "resnet110"),
            Arm("densenet_bc100", "densenet_bc100"),
        ),
        rule=NotBetter("test_acc", "resnet110", "densenet_bc100", margin=0.5),
        full=Budget("fashion-mnist", epochs=30, settings=CIFAR_RECIPE),
        headline=("test_acc", "params"),
        analyze=_params_vs_accuracy,
    )
)

register_experiment(
    Experiment(
        name="se",
        title="Squeeze-and-excitation: accuracy for a few parameters and almost no MACs",
        claim=(
            "Adding SE blocks to a ResNet improves accuracy at a small parameter cost and a "
            "negligible multiply-add cost."
        ),
        source="Hu, Shen, Sun 2018, Squeeze-and-Excitation Networks, arXiv:1709.01507, Table 2",
        protocol=(
            "resnet20 with and without an SE block (reduction 16 -> 4 at these small widths "
            "would leave 4 channels at stage 1; reduction 4 keeps the gate meaningful) in every "
            "basic block; identical data, recipe and seeds."
        ),
        arms=(
            Arm("resnet20", "resnet20"),
            Arm("se_resnet20", "resnet20", {"se_reduction": 4}),
        ),
        rule=Better("test_acc", "se_resnet20", "resnet20"),
        full=Budget("fashion-mnist", epochs=30, settings=CIFAR_RECIPE),
        headline=("test_acc", "params", "macs"),
    )
)

# Table 3's template at a quarter of the widths; these three cost the same within 1.3%
# (convzoo.summary at 28x28: 312,826 / 310,914 / 309,002 params, 35.8M / 36.1M / 36.5M MACs)
CARDINALITY = ((1, 16), (2, 10), (4, 6))

register_experiment(
    Experiment(
        name="resnext_cardinality",
        title="ResNeXt: at equal cost, more groups beat a wider bottleneck",
        claim=(
            "At the same parameters and multiply-adds, splitting the bottleneck into more "
            "groups (higher cardinality) is more accurate than making it wider."
        ),
        source="Xie, Girshick, Dollar, Tu, He 2017, arXiv:1611.05431, Table 3 (1x64d 23.9% "
        "... 32x4d 22.2% top-1 error)",
        protocol=(
            "`ablation_resnext`: ResNeXt-29 with widths / 4 at cardinality x width 1x16d, "
            "2x10d and 4x6d (equal cost within 1.3%; 8 groups has no integer width at this "
            "cost). Claim: 4x6d more accurate than 1x16d."
        ),
        arms=tuple(
            Arm(f"{c}x{d}d", "ablation_resnext", {"cardinality": c, "group_width": d})
            for c, d in CARDINALITY
        ),
        rule=Better("test_acc", "4x6d", "1x16d"),
        full=Budget("fashion-mnist", epochs=15, train_images=10_000, settings=CIFAR_RECIPE),
        headline=("test_acc", "params", "macs"),
    )
)
