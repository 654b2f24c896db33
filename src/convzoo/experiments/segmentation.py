"""Claims about dense prediction: U-Net's skip connections."""

from __future__ import annotations

from convzoo.experiments.core import Analysis, Arm, Budget, Context, Experiment, register_experiment
from convzoo.experiments.verdict import AllOf, Better

# narrow U-Nets (every level at 1/8 of Fig. 1's widths) with batch norm keep a training
# on 32 px shapes within seconds on 2 cores
UNET = {"base_width": 8, "batch_norm": True}
# one fixed precision and layout for every arm and seed: the automatic probe measures under
# a varying load and may choose differently from one run to the next
RECIPE = {"batch_size": 8, "optimizer": "adamw", "lr": 1e-2, "precision": "fp32",
          "channels_last": "off"}  # fmt: skip


def _parameter_count(ctx: Context) -> Analysis:
    """What dropping the skips removes: the concatenated half of each decoder level's input."""
    params = {a.label: ctx.stats[a.label]["params"].mean for a in ctx.arms if a.label in ctx.stats}
    if len(params) < 2:
        return Analysis()
    removed = params["with_skips"] - params["without_skips"]
    return Analysis(
        facts={"params_removed": removed},
        notes=[
            f"Dropping the skips removes {removed:,.0f} of {params['with_skips']:,.0f} "
            f"parameters ({removed / params['with_skips']:.1%}): the weights that read the "
            "concatenated encoder maps in the first 3x3 convolution of each decoder level. "
            "The decoder (up-convolutions, two 3x3 convolutions per level) is otherwise kept."
        ],
    )


register_experiment(
    Experiment(
        name="skip_connections",
        title="U-Net: skip connections give better masks and sharper outlines",
        claim=(
            "Concatenating the contracting path's high-resolution maps into the expanding "
            "path gives a more accurate segmentation, above all at the object boundaries, "
            "than the same encoder-decoder without them."
        ),
        source=(
            "Ronneberger, Fischer, Brox 2015, U-Net, arXiv:1505.04597, Section 2 and Fig. 1 "
            '("high resolution features from the contracting path are combined with the '
            'upsampled output" for precise localization)'
        ),
        protocol=(
            "`unet_padded` (same-padded U-Net, Fig. 1 widths / 8, batch norm) with its four "
            "skip connections against `skip_connections=False`: the same encoder, "
            "up-convolutions and decoder convolutions, only the concatenation is dropped. "
            "Data: the generated `shapes` set (circles, rectangles, triangles on a textured "
            "background; 4 classes), 32x32. Scores on the test set with the best-validation "
            "weights: mean IoU over the classes, and Boundary IoU (Cheng et al. 2021, "
            "arXiv:2103.16562; band of 2% of the diagonal, 1 px at 32 px) for the outlines. "
            "The error curves are per-pixel errors (100 - pixel accuracy)."
        ),
        arms=(
            Arm("with_skips", "unet_padded", UNET),
            Arm("without_skips", "unet_padded", {**UNET, "skip_connections": False}),
        ),
        rule=AllOf(
            (
                Better("test_miou", "with_skips", "without_skips"),
                Better("test_boundary_iou", "with_skips", "without_skips"),
            )
        ),
        full=Budget("shapes:size=32,train=1024", epochs=10, settings=RECIPE),
        quick=Budget("shapes:size=32,train=128,test=32", epochs=3, settings=RECIPE),
        headline=("test_miou", "test_boundary_iou", "params"),
        analyze=_parameter_count,
    )
)
