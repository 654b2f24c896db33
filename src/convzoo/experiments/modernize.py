"""ConvNeXt's modernisation steps, scaled down: accuracy and cost after each decision."""

from __future__ import annotations

from convzoo.experiments.core import Analysis, Arm, Budget, Context, Experiment, register_experiment
from convzoo.experiments.plots import plot_lines
from convzoo.experiments.verdict import Better
from convzoo.models.modernize import STEPS


def _steps_analysis(ctx: Context) -> Analysis:
    done = [a.label for a in ctx.arms if "test_acc" in ctx.stats.get(a.label, {})]
    acc = [ctx.stats[label]["test_acc"] for label in done]
    macs = [ctx.stats[label]["macs"].mean / 1e6 for label in done]
    plot_lines(
        {"test top-1 (%)": (range(len(done)), [s.mean for s in acc])},
        ctx.out / "steps.png",
        xlabel="modernisation step (cumulative)",
        ylabel="test top-1 (%)",
        title="ResNet -> ConvNeXt, one decision at a time",
        xticks=done,
    )
    rows = [[label, s, f"{m:.2f}M"] for label, s, m in zip(done, acc, macs, strict=True)]
    return Analysis(
        tables=[("Step by step", ["step", "test top-1", "MACs"], rows)],
        figures=[("steps.png", "test accuracy after each step (seed mean)")],
    )


register_experiment(
    Experiment(
        name="convnext_steps",
        title="ConvNeXt's modernisation steps on a small ResNet",
        claim=(
            "Moving a ResNet step by step towards ConvNeXt (stage ratio, patchify stem, "
            "depthwise, inverted bottleneck, large kernel, LN/GELU) ends more accurate at a "
            "similar cost."
        ),
        source="Liu et al. 2022, A ConvNet for the 2020s, arXiv:2201.03545, Figure 2",
        protocol=(
            "`ablation_modernize(step=k)` for k = 0..6 (see its module docstring for each "
            "step at this scale); identical data and recipe. Claim: the last step more "
            "accurate than the ResNet it started from."
        ),
        arms=tuple(
            Arm(f"{k}_{name}", "ablation_modernize", {"step": k}) for k, name in enumerate(STEPS)
        ),
        rule=Better("test_acc", f"{len(STEPS) - 1}_{STEPS[-1]}", f"0_{STEPS[0]}"),
        full=Budget("fashion-mnist", epochs=15, train_images=10_000),
        headline=("test_acc", "macs"),
        analyze=_steps_analysis,
    )
)
