"""Claims about building blocks: stacked 3x3, 1x1 bottlenecks, GAP heads, scaling rules,
auxiliary classifiers. Costs are measured with the analysis tools, accuracy by training.
"""

from __future__ import annotations

from convzoo.analysis.calculators import rf_stack
from convzoo.analysis.summary import summary
from convzoo.experiments.core import (
    Analysis,
    Arm,
    Budget,
    Context,
    Experiment,
    register_experiment,
    steps_to_val_acc,
)
from convzoo.experiments.plots import plot_lines, plot_xy
from convzoo.experiments.verdict import AllOf, Better, FactAtMost, FactNear, NotBetter

CNN = "ablation_cnn"
FULL = Budget("fashion-mnist", epochs=15)
SMALL = Budget("fashion-mnist", epochs=15, train_images=10_000)


def _total(name: str, side: int, **kwargs) -> tuple[int, int]:
    s = summary(name, (1, side, side), rows=False, in_channels=1, num_classes=10, **kwargs)
    return s.total_params, s.total_macs


def _accuracy_vs_cost(ctx: Context, name: str = "accuracy_vs_macs.png") -> tuple[str, str]:
    points = {
        a.label: (ctx.stats[a.label]["macs"].mean, ctx.stats[a.label]["test_acc"])
        for a in ctx.arms
        if "test_acc" in ctx.stats.get(a.label, {})
    }
    plot_xy(
        points,
        ctx.out / name,
        xlabel="multiply-adds per image",
        ylabel="test top-1 (%)",
        title="accuracy against cost (mean ± std)",
        logx=True,
    )
    return name, "test accuracy against multiply-adds (error bars: std over seeds)"


# -- VGG: two 3x3 layers instead of one 5x5 ------------------------------------------------
def _stacked_analysis(ctx: Context) -> Analysis:
    stack, single = rf_stack(["3x3", "3x3"])[-1], rf_stack(["5x5"])[-1]
    return Analysis(
        facts={
            "rf_two_3x3": float(stack.size),
            "rf_one_5x5": float(single.size),
            "weight_ratio": stack.weights_c2 / single.weights_c2,
        },
        tables=[
            (
                "Receptive field and weights (C channels in and out; convzoo rf 3x3 3x3)",
                ["stack", "receptive field", "weights"],
                [
                    ["two 3x3", stack.size, f"{stack.weights_c2}C^2"],
                    ["one 5x5", single.size, f"{single.weights_c2}C^2"],
                ],
            )
        ],
        figures=[_accuracy_vs_cost(ctx)],
    )


register_experiment(
    Experiment(
        name="stacked_3x3",
        title="Two stacked 3x3 convolutions vs one 5x5",
        claim=(
            "Two stacked 3x3 convolutions see the same 5x5 field as one 5x5 with 18C^2 instead of "
            "25C^2 weights and an extra non-linearity, and classify better."
        ),
        source="Simonyan & Zisserman 2014, arXiv:1409.1556, section 2.3 and section 4.1",
        protocol=(
            f"`{CNN}` with each stage's convolution as two 3x3 layers vs one 5x5 layer; "
            "receptive field and weights from the receptive-field tool."
        ),
        arms=(
            Arm("two_3x3", CNN, {"kernel": "3x3x2"}),
            Arm("one_5x5", CNN, {"kernel": "5x5"}),
        ),
        rule=AllOf(
            (
                FactNear("rf_two_3x3", 5, 0.0),
                FactNear("weight_ratio", 18 / 25, 1e-9),
                Better("test_acc", "two_3x3", "one_5x5"),
            )
        ),
        full=FULL,
        headline=("test_acc", "params", "macs"),
        analyze=_stacked_analysis,
    )
)


# -- NiN / GoogLeNet: 1x1 reductions --------------------------------------------------------
def _bottleneck_analysis(ctx: Context) -> Analysis:
    side = ctx.input_size
    naive = _total("ablation_inception", side, reduce=False)
    reduced = _total("ablation_inception", side, reduce=True)
    return Analysis(
        facts={"reduced_over_naive_macs": reduced[1] / naive[1]},
        tables=[
            (
                f"Cost at {side}x{side} (convzoo.summary)",
                ["module", "params", "MACs"],
                [["naive (Fig. 2a)", *naive], ["with 1x1 reductions (Fig. 2b)", *reduced]],
            )
        ],
        figures=[_accuracy_vs_cost(ctx)],
    )


register_experiment(
    Experiment(
        name="bottleneck_1x1",
        title="1x1 bottlenecks: Inception modules at a fraction of the cost",
        claim=(
            "1x1 convolutions before the 3x3 and 5x5 branches cut an Inception module's "
            "multiply-adds several times without losing accuracy."
        ),
        source=(
            "Szegedy et al. 2014, Going Deeper with Convolutions, arXiv:1409.4842, section 4 "
            "and Figure 2; Lin et al. 2013, Network In Network, arXiv:1312.4400"
        ),
        protocol=(
            "`ablation_inception` (stem, two modules sized like 3a/3b divided by 4, GAP head), "
            "naive (Fig. 2a) vs with reductions (Fig. 2b). Accuracy claim: the naive module "
            "is not better by more than 1 point."
        ),
        arms=(
            Arm("reduced", "ablation_inception", {"reduce": True}),
            Arm("naive", "ablation_inception", {"reduce": False}),
        ),
        rule=AllOf(
            (
                FactAtMost("reduced_over_naive_macs", 0.5),
                NotBetter("test_acc", "naive", "reduced", margin=1.0),
            )
        ),
        full=FULL,
        headline=("test_acc", "macs"),
        analyze=_bottleneck_analysis,
    )
)


# -- NiN: global average pooling head -------------------------------------------------------
def _head_params(**kwargs) -> int:
    from convzoo.factory import create_model

    model = create_model(CNN, in_channels=1, num_classes=10, **kwargs)
    return sum(p.numel() for p in model.head.parameters())


def _gap_analysis(ctx: Context) -> Analysis:
    gap, fc = _head_params(head="gap"), _head_params(head="fc")
    return Analysis(
        facts={"gap_over_fc_head_params": gap / fc},
        tables=[("Head parameters", ["head", "params"], [["GAP + fc", gap], ["fc 256 + fc", fc]])],
    )


register_experiment(
    Experiment(
        name="gap_head",
        title="Global average pooling head: as accurate as fully connected, far fewer weights",
        claim=(
            "Replacing the fully connected classifier by global average pooling removes most "
            "of the head's parameters and overfits less, without losing accuracy."
        ),
        source="Lin, Chen, Yan 2013, Network In Network, arXiv:1312.4400, section 3.2 and Table 5",
        protocol=(
            f"`{CNN}` with a GAP head vs an fc-256 head with and without dropout 0.5 (NiN's "
            "Table 5 compares the same three). Accuracy claim: neither fc head is better than "
            "GAP by more than 0.5 points."
        ),
        arms=(
            Arm("gap", CNN, {"head": "gap"}),
            Arm("fc", CNN, {"head": "fc"}),
            Arm("fc_dropout", CNN, {"head": "fc", "dropout": 0.5}),
        ),
        rule=AllOf(
            (
                FactAtMost("gap_over_fc_head_params", 0.1),
                NotBetter("test_acc", "fc", "gap", margin=0.5),
                NotBetter("test_acc", "fc_dropout", "gap", margin=0.5),
            )
        ),
        full=FULL,
        headline=("test_acc", "params", "train_val_gap"),
        analyze=_gap_analysis,
    )
)


# -- MobileNet: width multiplier alpha and resolution multiplier rho ------------------------
ALPHAS = (1.0, 0.75, 0.5, 0.25)
RESOLUTIONS = (224, 192, 160, 128)
# mult-adds in millions as printed: Table 6 (alpha at 224 px), Table 7 (rho at alpha 1)
TABLE_6 = {1.0: 569, 0.75: 325, 0.5: 149, 0.25: 41}
TABLE_7 = {224: 569, 192: 418, 160: 290, 128: 186}


def _mobilenet_macs(alpha: float, side: int) -> int:
    """MobileNet v1's multiply-adds without the classifier (the papers' tables leave it out)."""
    s = summary("mobilenet_v1", (3, side, side), width_mult=alpha)
    return s.total_macs - next(r.macs for r in s.rows if r.name == "head.fc")


def _alpha_rho_analysis(ctx: Context) -> Analysis:
    base = _mobilenet_macs(1.0, 224)
    rows, series, paper_gap, rule_gap = [], {}, 0.0, 0.0
    for alpha in ALPHAS:
        measured = []
        for side in RESOLUTIONS:
            macs = _mobilenet_macs(alpha, side)
            predicted = alpha**2 * (side / 224) ** 2
            rule_gap = max(rule_gap, abs(macs / base / predicted - 1))
            printed = TABLE_6.get(alpha) if side == 224 else None
            printed = TABLE_7.get(side) if alpha == 1.0 else printed
            if printed is not None:
                paper_gap = max(paper_gap, abs(macs / 1e6 / printed - 1))
            rows.append([alpha, side, macs, f"{macs / base:.3f}", f"{predicted:.3f}",
                         f"{printed}M" if printed else "-"])  # fmt: skip
            measured.append(macs / 1e6)
        series[f"alpha {alpha:g}"] = (RESOLUTIONS, measured)
    plot_lines(
        series,
        ctx.out / "macs_grid.png",
        xlabel="input side (px)",
        ylabel="MACs (M)",
        title="MobileNet v1 cost over alpha and rho",
        logy=True,
    )
    return Analysis(
        facts={"worst_gap_to_tables_6_7": paper_gap, "worst_alpha2_rho2_deviation": rule_gap},
        tables=[
            (
                "MACs grid without the classifier (convzoo.summary) against alpha^2 rho^2 and "
                "the paper's Tables 6-7",
                ["alpha", "side", "MACs", "relative", "alpha^2 rho^2", "paper"],
                rows,
            )
        ],
        figures=[
            ("macs_grid.png", "measured MACs over alpha and resolution"),
            _accuracy_vs_cost(ctx),
        ],
        notes=[
            f"largest gap to alpha^2 rho^2 over the grid: {rule_gap:.1%}; the first "
            "convolution and the depthwise layers scale as alpha, not alpha^2, which is why "
            "the paper says 'roughly' and the thinnest networks deviate most",
        ],
    )


register_experiment(
    Experiment(
        name="alpha_rho",
        title="MobileNet's width and resolution multipliers: cost scales as alpha^2 rho^2",
        claim=(
            "Thinning every layer by alpha and shrinking the input by rho cuts the multiply-adds "
            "by about alpha^2 rho^2 while accuracy falls off smoothly."
        ),
        source="Howard et al. 2017, MobileNets, arXiv:1704.04861, sections 4.2-4.3, Tables 6-7",
        protocol=(
            "Measured MACs grid of the registered mobilenet_v1 (alpha 1/0.75/0.5/0.25 x "
            "224/192/160/128 px) against alpha^2 rho^2 and the paper's Tables 6-7; trained "
            "arms alpha 1, 0.5, 0.25 at 32 px and alpha 0.5 at 48 px (upsampled). Claims: the "
            "measured cost within 3% of every printed table entry, and alpha 1 more accurate "
            "than alpha 0.25."
        ),
        arms=(
            Arm("a1.0_r32", "mobilenet_v1", {"width_mult": 1.0}),
            Arm("a0.5_r32", "mobilenet_v1", {"width_mult": 0.5}),
            Arm("a0.25_r32", "mobilenet_v1", {"width_mult": 0.25}),
            Arm("a0.5_r48", "mobilenet_v1", {"width_mult": 0.5}, {"input_size": 48}),
        ),
        rule=AllOf(
            (
                FactAtMost("worst_gap_to_tables_6_7", 0.03),
                Better("test_acc", "a1.0_r32", "a0.25_r32"),
            )
        ),
        full=SMALL,
        headline=("test_acc", "macs"),
        analyze=_alpha_rho_analysis,
    )
)


# -- EfficientNet: compound scaling ---------------------------------------------------------
BASE_SIDE = 64  # B0 upsampled to 64 px: its stride-32 grid ends at 2x2
# The paper's phi = 1 rule (depth 1.2, width 1.1, resolution 1.15 -> 73.6 px, here 72) costs
# ~3x B0 here, not 2x: at 64-72 px the stride-32 grid rounds 2.25 px up to 3, and one-block
# stages round 1.2 blocks up to 2. The single-dimension arms are sized to the same measured
# MACs (convzoo.summary: 91.8M, 90.4M, 100.5M vs compound 93.6M; B0 31.4M).
SCALED = {
    "depth": ({"depth_mult": 2.6}, BASE_SIDE),
    "width": ({"width_mult": 1.7}, BASE_SIDE),
    "resolution": ({}, 104),
    "compound": ({"depth_mult": 1.2, "width_mult": 1.1}, 72),
}


def _compound_analysis(ctx: Context) -> Analysis:
    macs = {a.label: ctx.stats[a.label]["macs"].mean for a in ctx.arms if a.label in ctx.stats}
    base = macs.get("b0")
    rows = [[k, v, f"{v / base:.2f}x" if base else "-"] for k, v in macs.items()]
    scaled = [v for k, v in macs.items() if k != "b0"]
    spread = max(scaled) / min(scaled) - 1 if scaled else 0.0
    return Analysis(
        facts={"mac_budget_spread": spread},
        tables=[("Measured MACs per arm", ["arm", "MACs", "vs B0"], rows)],
        figures=[_accuracy_vs_cost(ctx)],
        notes=["the scaled arms must cost about the same for the comparison to be fair"],
    )


register_experiment(
    Experiment(
        name="compound_scaling",
        title="Compound scaling beats scaling one dimension at the same cost",
        claim=(
            "At an equal multiply-add budget, scaling depth, width and resolution together "
            "(the compound rule) is more accurate than scaling any one of them alone."
        ),
        source="Tan & Le 2019, EfficientNet, arXiv:1905.11946, Fig. 3 and Table 3",
        protocol=(
            f"EfficientNet-B0 at {BASE_SIDE} px, then four ways to spend about 3x its MACs: "
            "depth x2.6, width x1.7, resolution 104 px, or the compound rule phi=1 (depth 1.2, "
            "width 1.1, 72 px). Claims: the scaled arms within 20% of each other in measured "
            "MACs, and compound more accurate than each single dimension."
        ),
        arms=(
            Arm("b0", "efficientnet_b0", {}, {"input_size": BASE_SIDE}),
            *(
                Arm(label, "efficientnet_b0", kwargs, {"input_size": side})
                for label, (kwargs, side) in SCALED.items()
            ),
        ),
        rule=AllOf(
            (
                FactAtMost("mac_budget_spread", 0.2),
                Better("test_acc", "compound", "depth"),
                Better("test_acc", "compound", "width"),
                Better("test_acc", "compound", "resolution"),
            )
        ),
        full=SMALL,
        headline=("test_acc", "macs"),
        analyze=_compound_analysis,
    )
)


# -- GoogLeNet: auxiliary classifiers -------------------------------------------------------
register_experiment(
    Experiment(
        name="aux_classifiers",
        title="Auxiliary classifiers: faster convergence and a small final gain",
        claim=(
            "GoogLeNet's two auxiliary classifiers (loss weight 0.3) help the deep network "
            "converge and add a little final accuracy."
        ),
        source=(
            "Szegedy et al. 2014, arXiv:1409.4842, sections 5-6 (about 0.5% gain); Szegedy et "
            "al. 2015, Rethinking the Inception Architecture, arXiv:1512.00567, section 4 "
            "(no faster early convergence)"
        ),
        protocol=(
            "The registered googlenet (47 px, its minimum) with aux_logits on vs off; the "
            "engine adds the auxiliary losses with weight 0.3. Steps to 85% validation accuracy "
            "and test accuracy."
        ),
        arms=(
            Arm("aux", "googlenet", {"aux_logits": True}),
            Arm("no_aux", "googlenet", {"aux_logits": False}),
        ),
        rule=Better("test_acc", "aux", "no_aux"),
        full=SMALL,
        headline=("test_acc", "steps_to_val85"),
        metrics=(steps_to_val_acc(85.0),),
    )
)
