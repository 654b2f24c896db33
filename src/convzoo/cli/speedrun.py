"""convzoo speedrun [fashion-mnist] [--seeds 3] [--long]"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "speedrun"
HELP = "Time-to-accuracy on Fashion-MNIST: train speednet with the measured-fastest settings."
EXAMPLE = "convzoo speedrun fashion-mnist --seeds 3\n  convzoo speedrun --long --seeds 1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", nargs="?", default="fashion-mnist", choices=("fashion-mnist",))
    parser.add_argument("--seeds", type=int, default=3, help="runs, seeds 0, 1, ... (default 3)")
    parser.add_argument(
        "--long", action="store_true", help="the 95%%-in-30-minutes budget (default: 93%% in 60 s)"
    )
    parser.add_argument("--epochs", type=int, help="override the budget's epochs")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--data-dir", help="look for dataset files here first")
    parser.add_argument("--out", type=Path, help="directory of the runs (default runs/speedrun-*)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the table here")


def run(args: argparse.Namespace) -> int:
    from convzoo.train.speedrun import BUDGETS, Budget, process_age_s, speedrun

    startup = process_age_s()  # interpreter start to here: charged to every seed
    base = BUDGETS["long" if args.long else "short"]
    budget = Budget(base.name, args.epochs or base.epochs, base.target, base.seconds)
    overrides = {"dataset": args.dataset, "threads": args.threads, "data_dir": args.data_dir}
    results = []
    for seed in range(args.seeds):
        if args.out:
            overrides["out"] = str(args.out / f"seed{seed}")
        (result,) = speedrun(budget, 1, first_seed=seed, startup_s=startup, **overrides)
        results.append(result)
        print(_row(result, budget), flush=True)
    mean = sum(r.test_top1 for r in results) / len(results)
    hit = sum(r.test_top1 >= budget.target and r.wall_s <= budget.seconds for r in results)
    print(
        f"mean test top-1 {mean:.2f}% over {len(results)} seed(s); target {budget.target}% "
        f"in {budget.seconds:.0f} s met by {hit}/{len(results)} (wall time incl. start-up)"
    )
    if args.json:
        rows = [
            {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(r).items()} for r in results
        ]
        args.json.write_text(json.dumps({"budget": vars(budget), "runs": rows}, indent=2) + "\n")
    return 0


def _row(result, budget) -> str:
    reached = (
        f"{result.time_to_target_s:.1f} s" if result.time_to_target_s is not None else "not reached"
    )
    at_budget = f"{result.val_acc_at_budget:.2f}%" if result.val_acc_at_budget is not None else "-"
    return (
        f"seed {result.seed}: test top-1 {result.test_top1:.2f}% (best epoch "
        f"{result.best_epoch}, val {result.best_val_acc:.2f}%)  wall {result.wall_s:.1f} s  "
        f"val >= {budget.target}% at {reached}  best val within {budget.seconds:.0f} s "
        f"{at_budget}"
    )
