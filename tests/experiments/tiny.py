"""A tiny experiment on synthetic data, for the framework's tests."""

from convzoo.experiments import Arm, Budget, Experiment
from convzoo.experiments.core import steps_to_val_acc
from convzoo.experiments.verdict import Better

TINY = Budget(
    "synthetic:channels=1,size=16,classes=3,train=96,test=48",
    epochs=1,
    seeds=(0, 1),
    settings={"batch_size": 32},
)


def tiny_experiment(**changes) -> Experiment:
    spec = dict(
        name="tiny",
        title="A tiny check of the framework",
        claim="Batch norm helps a tiny CNN.",
        source="a test",
        protocol="two arms of a four-channel ablation_cnn",
        arms=(
            Arm("bn", "ablation_cnn", {"width": 4}),
            Arm("plain", "ablation_cnn", {"width": 4, "norm": "none"}),
        ),
        rule=Better("test_acc", "bn", "plain"),
        full=TINY,
        quick=TINY,
        metrics=(steps_to_val_acc(50.0),),
    )
    spec.update(changes)
    return Experiment(**spec)
