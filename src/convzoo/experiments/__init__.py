"""The experiments behind the textbook claims: `convzoo reproduce NAME|all`.

Each experiment is a registered `Experiment` (claim, source, protocol, budgets,
verdict rule); `run_experiment` trains its arms over several seeds with the
training engine and writes report.md, results.json and plots. Importing this
package registers every experiment; `list_experiments` gives them in priority order.
"""

from convzoo.experiments import (  # each module registers its experiments
    design,  # noqa: F401
    efficiency,  # noqa: F401
    lineage,  # noqa: F401
    modernize,  # noqa: F401
    normalization,  # noqa: F401
    residual,  # noqa: F401
    segmentation,  # noqa: F401
)
from convzoo.experiments.core import (
    Analysis,
    Arm,
    Budget,
    Context,
    Experiment,
    get_experiment,
    list_experiments,
    register_experiment,
)
from convzoo.experiments.runner import ExperimentInterrupted, last_verdict, run_experiment

__all__ = [
    "Analysis",
    "Arm",
    "Budget",
    "Context",
    "Experiment",
    "ExperimentInterrupted",
    "get_experiment",
    "last_verdict",
    "list_experiments",
    "register_experiment",
    "run_experiment",
]
