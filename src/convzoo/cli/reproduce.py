"""convzoo reproduce NAME...|all [--quick] | --list"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from convzoo.cli.output import console, print_json

NAME = "reproduce"
HELP = (
    "Re-run the experiments behind the landmark claims (degradation, batch norm, separable "
    "convolutions, ...) over several seeds; each writes report.md, results.json and plots."
)
EXAMPLE = "convzoo reproduce --list  |  convzoo reproduce degradation --quick  |  ... all"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="NAME", help="experiments to run, or 'all'")
    parser.add_argument(
        "--list", action="store_true", help="every experiment: claim, budget, verdict"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the small budget (digits or shapes, 3 epochs) for CI and docs",
    )
    parser.add_argument(
        "--out", help="root of the experiment directories (default runs/reproduce[-quick])"
    )
    budget = parser.add_argument_group("budget overrides (the report states what ran)")
    budget.add_argument(
        "--dataset", help="another dataset of the same kind (e.g. oxford-pet for skip_connections)"
    )
    budget.add_argument(
        "--input-size", type=int, metavar="N", help="train at NxN (datasets of many sizes)"
    )
    budget.add_argument("--epochs", type=int, help="epochs per training")
    budget.add_argument("--train-images", type=int, metavar="N", help="training subset size")
    budget.add_argument("--test-images", type=int, metavar="N", help="test subset size")
    budget.add_argument("--seeds", help="comma-separated seeds, at least two (e.g. 0,1,2)")
    budget.add_argument("--batch-size", type=int, help="batch size of every training")
    budget.add_argument("--arms", help="comma-separated arm labels to run (default: all)")
    budget.add_argument("--val-fraction", type=float, help="share held out for validation")
    parser.add_argument("--progress", action="store_true", help="progress bars of each training")
    parser.add_argument("--threads", type=int, help="torch threads per training")
    parser.add_argument(
        "--train-only",
        action="store_true",
        help="train the missing runs and stop (no verdict); for one seed per process",
    )
    parser.add_argument(
        "--estimate",
        action="store_true",
        help="time each arm on this machine and print what the budget's unfinished trainings "
        "will take; trains nothing",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _root(args: argparse.Namespace) -> Path:
    return Path(args.out or ("runs/reproduce-quick" if args.quick else "runs/reproduce"))


def _overrides(args: argparse.Namespace) -> dict:
    changes: dict = {}
    if args.dataset is not None:
        changes["dataset"] = args.dataset
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    if args.train_images is not None:
        changes["train_images"] = args.train_images
    if args.test_images is not None:
        changes["test_images"] = args.test_images
    if args.val_fraction is not None:
        changes["val_fraction"] = args.val_fraction
    if args.seeds:
        try:
            changes["seeds"] = tuple(int(s) for s in args.seeds.split(",") if s)
        except ValueError:
            raise ValueError(f"--seeds takes integers like 0,1,2, got {args.seeds!r}") from None
    return changes


def _adjusted(exp, changes: dict, args: argparse.Namespace):
    """The experiment with the command line's budget overrides and arm selection."""
    budgets = {}
    for which in ("quick", "full"):
        budget = getattr(exp, which)
        settings = dict(budget.settings)
        if args.batch_size is not None:
            settings["batch_size"] = args.batch_size
        if args.input_size is not None:
            settings["input_size"] = args.input_size
        budgets[which] = dataclasses.replace(budget, settings=settings, **changes)
    exp = dataclasses.replace(exp, **budgets)
    if args.arms:
        wanted = [a for a in args.arms.split(",") if a]
        known = {a.label: a for a in (*exp.arms, *(exp.quick_arms or ()))}
        unknown = [a for a in wanted if a not in known]
        if unknown:
            raise ValueError(f"{exp.name} has no arm {unknown}; its arms: {sorted(known)}")
        exp = dataclasses.replace(
            exp,
            arms=tuple(a for a in exp.arms if a.label in wanted),
            quick_arms=None
            if exp.quick_arms is None
            else tuple(a for a in exp.quick_arms if a.label in wanted),
        )
    return exp


def _command(args: argparse.Namespace, name: str) -> str:
    parts = ["convzoo reproduce", name]
    if args.quick:
        parts.append("--quick")
    for flag in ("dataset", "input_size", "epochs", "train_images", "test_images", "seeds",
                 "val_fraction", "batch_size", "arms", "threads"):  # fmt: skip
        value = getattr(args, flag)
        if value is not None:
            parts.append(f"--{flag.replace('_', '-')} {value}")
    parts.append(f"--out {_root(args)}")
    return " ".join(parts)


def _echo(text: str) -> None:
    console.print(text, markup=False, highlight=False)  # "[name 1/6]" is not rich markup


def _list(args: argparse.Namespace) -> int:
    from convzoo.experiments import last_verdict, list_experiments

    rows = []
    for exp in list_experiments():
        rows.append(
            {
                "name": exp.name,
                "claim": exp.claim,
                "source": exp.source,
                "quick": f"{exp.quick.describe()} x {exp.trainings(True)} trainings",
                "full": f"{exp.full.describe()} x {exp.trainings(False)} trainings",
                "last_verdict": last_verdict(Path(args.out or "runs/reproduce"), exp.name),
                "last_quick_verdict": last_verdict(
                    Path(args.out or "runs/reproduce-quick"), exp.name
                ),
            }
        )
    if args.json:
        print_json(rows)
        return 0
    from rich.table import Table

    table = Table(title="convzoo reproduce: the experiments", show_lines=True)
    for column in ("experiment", "claim (source)", "budget", "last verdict"):
        table.add_column(column, overflow="fold")
    for r in rows:
        verdict = f"full: {r['last_verdict'] or '-'}\nquick: {r['last_quick_verdict'] or '-'}"
        budget = f"full: {r['full']}\nquick: {r['quick']}"
        table.add_row(r["name"], f"{r['claim']}\n[dim]{r['source']}[/dim]", budget, verdict)
    console.print(table)
    return 0


def _estimate(args: argparse.Namespace, experiments: list) -> int:
    import torch
    from rich.table import Table

    from convzoo.experiments.estimate import estimate
    from convzoo.speed import cpu_model

    threads = args.threads or torch.get_num_threads()
    report, total = [], 0.0
    for exp in experiments:
        costs = estimate(exp, quick=args.quick, out=_root(args) / exp.name, threads=threads)
        left = sum(c.seconds_left for c in costs)
        total += left
        report.append({"experiment": exp.name, "hours_left": left / 3600,
                       "arms": [c.as_dict() for c in costs]})  # fmt: skip
        if args.json:
            continue
        table = Table(title=f"{exp.name}: {exp.budget(args.quick).describe()}")
        for column in ("arm", "px", "batch", "epochs", "train", "val", "test", "train img/s",
                       "eval img/s", "min/run", "left", "h left"):  # fmt: skip
            table.add_column(column, justify="left" if column == "arm" else "right")
        for c in costs:
            table.add_row(c.arm, str(c.input_size), str(c.batch_size), str(c.epochs),
                          f"{c.train_images:,}", f"{c.val_images:,}", f"{c.test_images:,}",
                          f"{c.train_img_per_s:,.0f}", f"{c.eval_img_per_s:,.0f}",
                          f"{c.seconds_per_training / 60:,.1f}", str(c.trainings_left),
                          f"{c.seconds_left / 3600:,.2f}")  # fmt: skip
        console.print(table)
    if args.json:
        print_json({"cpu": cpu_model(), "threads": threads, "experiments": report,
                    "hours_left": total / 3600})  # fmt: skip
        return 0
    console.print(
        f"{total / 3600:,.2f} hours of training left at {threads} thread(s) per training on "
        f"{cpu_model()} ({total * threads / 3600:,.2f} core-hours), measured just now: a lower "
        "bound (data loading, checkpoints and start-up come on top; other jobs slow it)"
    )
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list:
        return _list(args)
    if not args.names:
        raise ValueError("name an experiment (or 'all'); `convzoo reproduce --list` shows them")
    from convzoo.experiments import (
        ExperimentInterrupted,
        get_experiment,
        list_experiments,
        run_experiment,
    )

    names = [e.name for e in list_experiments()] if args.names == ["all"] else args.names
    experiments = [get_experiment(n) for n in names]  # unknown names fail before any training
    changes = _overrides(args)
    if args.estimate:
        return _estimate(args, [_adjusted(exp, changes, args) for exp in experiments])
    outcomes = []
    for exp in experiments:
        exp = _adjusted(exp, changes, args)
        try:
            outcome = run_experiment(
                exp,
                quick=args.quick,
                root=_root(args),
                progress=args.progress,
                threads=args.threads,
                echo=_echo,
                command=_command(args, exp.name),
                train_only=args.train_only,
            )
        except ExperimentInterrupted as exc:
            console.print(f"{exc}; run the same command again to resume where it stopped")
            return 130
        if outcome is None:
            continue
        outcomes.append(outcome)
        console.print(f"  report: {outcome.out / 'report.md'}")
    if args.json:
        print_json([{"experiment": o.experiment, "out": str(o.out), "verdict": o.verdict.status,
                     "reason": o.verdict.reason} for o in outcomes])  # fmt: skip
    return 0
