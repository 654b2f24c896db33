"""Claims about training dynamics: batch norm, ReLU vs tanh, dropout, LRN.

Every arm is the same small CNN (`ablation_cnn`, three 3x3 stages, 28x28) with one
switch changed, so a difference can only come from that switch.
"""

from __future__ import annotations

from convzoo.experiments.core import (
    Analysis,
    Arm,
    Budget,
    Context,
    Experiment,
    epochs_to_train_error,
    register_experiment,
    steps_to_val_acc,
)
from convzoo.experiments.verdict import AllOf, Better, FactGreater, NotBetter

CNN = "ablation_cnn"
BN_LRS = (0.05, 0.2, 1.0)  # the base rate, then 4x and 20x
STABLE_VAL_ACC = 50.0  # a run is stable if it did not diverge and ends far above chance (10%)
BN_TARGET = 80.0  # validation accuracy (%) the step count is measured to

# The full budget trains on 10k images so one epoch is ~80 steps: fine enough to count
# steps to a target, and 10x cheaper than the whole training split.
FAST = Budget("fashion-mnist", epochs=15, train_images=10_000)


def _lr_label(norm: str, lr: float) -> str:
    return f"{norm}_lr{lr:g}"


def _highest_stable(ctx: Context) -> Analysis:
    """The largest tried learning rate at which every seed trained (per norm)."""
    facts, rows = {}, []
    for norm in ("bn", "plain"):
        stable = []
        for lr in BN_LRS:
            runs = [r for r in ctx.runs if r.arm == _lr_label(norm, lr)]
            ok = all(
                r.diverged is None and r.records and r.records[-1]["val_acc"] >= STABLE_VAL_ACC
                for r in runs
            )
            rows.append([norm, lr, f"{sum(r.diverged is not None for r in runs)}/{len(runs)}",
                         "yes" if ok else "no"])  # fmt: skip
            if ok:
                stable.append(lr)
        facts[f"highest_stable_lr_{norm}"] = max(stable, default=0.0)
    return Analysis(
        facts=facts,
        tables=[("Learning-rate sweep", ["net", "lr", "diverged", "stable"], rows)],
        notes=[
            f"stable: no NaN/inf loss and final validation accuracy >= {STABLE_VAL_ACC:g}% "
            "in every seed (0.0 means no tried rate was stable)"
        ],
    )


register_experiment(
    Experiment(
        name="batchnorm",
        title="Batch normalization: fewer steps to an accuracy, higher usable learning rates",
        claim=(
            "With batch normalization the same network reaches a given validation accuracy in "
            "fewer steps and trains at learning rates where it diverges without."
        ),
        source=(
            "Ioffe & Szegedy 2015, arXiv:1502.03167, Fig. 1-2 and section 4.2.1; d2l section 8.5"
        ),
        protocol=(
            f"`{CNN}` with BN after every convolution vs without (conv biases instead), SGD "
            f"with momentum at learning rates {list(BN_LRS)}. Steps to {BN_TARGET:g}% validation "
            f"accuracy are compared at lr {BN_LRS[0]:g}; the highest stable rate over the sweep."
        ),
        arms=tuple(
            Arm(_lr_label(norm, lr), CNN, {"norm": kind}, {"lr": lr})
            for lr in BN_LRS
            for norm, kind in (("bn", "batch"), ("plain", "none"))
        ),
        rule=AllOf(
            (
                Better(
                    f"steps_to_val{BN_TARGET:g}",
                    _lr_label("bn", BN_LRS[0]),
                    _lr_label("plain", BN_LRS[0]),
                    higher_is_better=False,
                ),
                FactGreater("highest_stable_lr_bn", "highest_stable_lr_plain"),
            )
        ),
        full=FAST,
        headline=(f"steps_to_val{BN_TARGET:g}", "test_acc"),
        metrics=(steps_to_val_acc(BN_TARGET),),
        analyze=_highest_stable,
    )
)

register_experiment(
    Experiment(
        name="relu_tanh",
        title="ReLU vs tanh: non-saturating units train several times faster",
        claim=(
            "A CNN with ReLUs reaches 25% training error several times faster (about 6x in the "
            "paper) than the same network with tanh units."
        ),
        source="Krizhevsky, Sutskever, Hinton 2012, ImageNet Classification with Deep CNNs, Fig. 1",
        protocol=(
            f"`{CNN}` without batch norm (as in 2012), ReLU vs tanh everywhere else identical; "
            "epochs until the running training error first drops to 25%."
        ),
        arms=(
            Arm("relu", CNN, {"norm": "none", "act": "relu"}),
            Arm("tanh", CNN, {"norm": "none", "act": "tanh"}),
        ),
        rule=Better("epochs_to_train_err25", "relu", "tanh", higher_is_better=False),
        full=Budget("fashion-mnist", epochs=15, train_images=5_000, settings={"lr": 0.01}),
        headline=("epochs_to_train_err25", "test_acc"),
        metrics=(epochs_to_train_error(25.0),),
    )
)

register_experiment(
    Experiment(
        name="dropout",
        title="Dropout: a smaller gap between training and validation accuracy",
        claim=(
            "Dropout in the fully connected layers reduces overfitting: the train-validation "
            "gap shrinks."
        ),
        source="Krizhevsky et al. 2012, section 4.2; Srivastava et al. 2014, JMLR 15",
        protocol=(
            f"`{CNN}` with a fully connected head (fc 256) with dropout 0.5 vs none; a "
            "training subset small enough to overfit, no augmentation."
        ),
        arms=(
            Arm("dropout", CNN, {"head": "fc", "dropout": 0.5}),
            Arm("no_dropout", CNN, {"head": "fc", "dropout": 0.0}),
        ),
        rule=Better("train_val_gap", "dropout", "no_dropout", higher_is_better=False),
        full=Budget("fashion-mnist", epochs=30, train_images=5_000, settings={"augment": False}),
        headline=("train_val_gap", "test_acc"),
    )
)

register_experiment(
    Experiment(
        name="lrn",
        title="Local response normalization does not help",
        claim="Adding LRN after the first layer does not improve accuracy (VGG's A vs A-LRN).",
        source="Simonyan & Zisserman 2014, arXiv:1409.1556, Table 3 (A 29.6% vs A-LRN 29.7%)",
        protocol=(
            f"`{CNN}` without batch norm (LRN's era) with and without an LRN layer (AlexNet's "
            "constants) after the first convolution. The claim is a null result: confirmed "
            "only if LRN's gain, noise included, stays under 0.5 points."
        ),
        arms=(
            Arm("lrn", CNN, {"norm": "none", "lrn": True}),
            Arm("no_lrn", CNN, {"norm": "none", "lrn": False}),
        ),
        rule=NotBetter("test_acc", "lrn", "no_lrn", margin=0.5),
        full=Budget("fashion-mnist", epochs=15, settings={"lr": 0.02}),
        headline=("test_acc",),
    )
)
