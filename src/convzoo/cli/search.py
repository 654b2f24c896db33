"""convzoo search --space S --strategy T --dataset D --trials N ... (see convzoo.search.run);
convzoo search edf --spaces A B ... --samples N (see convzoo.search.edf)."""

from __future__ import annotations

import argparse

NAME = "search"
HELP = (
    "Neural architecture search: sample, train and rank child networks; retrain the best. "
    "`search edf`: compare design spaces by the error EDFs of their sampled models."
)
EXAMPLE = (
    "convzoo search --quick\n"
    "  convzoo search --space nasnet --strategy reinforce --dataset fashion-mnist "
    "--trials 50 --child-epochs 2 --out runs/nas-rl --workers 2\n"
    "  convzoo search edf --quick\n"
    "  convzoo search edf --spaces A C E regnet --samples 100 --epochs 10 --out runs/edf"
)
SPACES = ("nasnet", "zoph", "anynet")
STRATEGIES = ("reinforce", "random", "evolution", "tpe")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "analysis",
        nargs="?",
        choices=("edf",),
        help="edf: the error EDFs of the AnyNet/RegNet design spaces (Radosavovic et al. 2020)",
    )
    parser.add_argument("--space", choices=SPACES, default="nasnet", help="the search space")
    parser.add_argument(
        "--strategy", choices=STRATEGIES, default="reinforce", help="how specs are proposed"
    )
    parser.add_argument(
        "--dataset", help="as for `convzoo train` (default fashion-mnist; edf --quick: digits)"
    )
    parser.add_argument("--trials", type=int, help="finished trials to run (default 20; quick 6)")
    parser.add_argument(
        "--child-epochs",
        "--epochs",
        type=int,
        help="epochs per child (default 1; edf 10, edf --quick 3)",
    )
    parser.add_argument("--final-epochs", type=int, help="epochs retraining the best")
    parser.add_argument(
        "--max-macs", type=float, help="redraw children above this many MACs (edf: the range's top)"
    )
    parser.add_argument(
        "--target-macs", type=float, help="MnasNet reward: val top-1 x (MACs / target)^-0.07"
    )
    parser.add_argument("--storage", help="Optuna storage URL (default: sqlite in --out)")
    parser.add_argument("--workers", type=int, default=1, help="processes on one storage")
    parser.add_argument("--out", help="run directory (default runs/search-SPACE-STRATEGY)")
    parser.add_argument("--seed", type=int, default=0, help="search seed")
    parser.add_argument("--threads", type=int, help="torch threads per worker")
    parser.add_argument("--batch-size", type=int, help="children's training batch")
    parser.add_argument(
        "--quick", action="store_true", help="2000 training images, small children, 6 trials"
    )
    parser.add_argument("--no-retrain", action="store_true", help="skip retraining the best")
    parser.add_argument(
        "--weight-sharing",
        action="store_true",
        help="ENAS: children train and are scored with shared weights (nasnet space)",
    )
    parser.add_argument(
        "--shared-steps", type=int, help="with --weight-sharing: minibatches per child (default 5)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print results.json (progress goes to stderr)"
    )
    edf = parser.add_argument_group("edf (the design-space comparison)")
    edf.add_argument(
        "--spaces", nargs="+", metavar="S", help="design spaces: A B C D E regnet (default all)"
    )
    edf.add_argument("--samples", type=int, help="models per space (default 100; quick 6)")
    edf.add_argument(
        "--min-macs", type=float, help="the MAC range's bottom (default 90%% of its top)"
    )
    edf.add_argument("--max-depth", type=int, help="blocks per stage at most (paper: 16)")
    edf.add_argument("--max-width", type=int, help="stage width at most (paper: 1024)")


def run(args: argparse.Namespace) -> int:
    if args.analysis == "edf":
        return run_edf(args)
    edf_only = ("spaces", "samples", "min_macs", "max_depth", "max_width")
    misplaced = [f"--{k.replace('_', '-')}" for k in edf_only if getattr(args, k) is not None]
    if misplaced:
        raise ValueError(f"{', '.join(misplaced)}: options of `convzoo search edf`")
    import contextlib
    import sys

    from convzoo.cli.output import console, print_json, show_table
    from convzoo.search.run import SearchConfig, finished_trials, leaderboard, open_study, search

    given = {
        "trials": args.trials, "child_epochs": args.child_epochs,
        "final_epochs": args.final_epochs, "max_macs": args.max_macs,
        "target_macs": args.target_macs, "storage": args.storage, "threads": args.threads,
        "batch_size": args.batch_size, "shared_steps": args.shared_steps,
        "weight_sharing": args.weight_sharing or None,
    }  # fmt: skip
    options = {k: v for k, v in given.items() if v is not None}
    options.update(
        space=args.space, strategy=args.strategy, dataset=args.dataset or "fashion-mnist",
        workers=args.workers, seed=args.seed,
        out=args.out or f"runs/search-{args.space}-{args.strategy}",
    )  # fmt: skip
    cfg = SearchConfig.quick_preset(**options) if args.quick else SearchConfig(**options)
    child = (
        f"{cfg.shared_steps} steps with shared weights"
        if cfg.weight_sharing
        else f"{cfg.child_epochs} epoch(s)"
    )
    # with --json, stdout holds only the JSON: what people read goes to stderr
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        print(
            f"searching {cfg.space} with {cfg.strategy} on {cfg.dataset}: {cfg.trials} trials "
            f"of {child}, {cfg.workers} worker(s) -> {cfg.out} "
            f"(storage {cfg.storage_url()})",
            flush=True,
        )
        results = search(cfg, retrain=not args.no_retrain)
    if args.json:
        print_json(results)
        return 0
    show_table(leaderboard(finished_trials(open_study(cfg))))
    best = results["best"]
    console.print(
        f"best: trial {best['trial']}, reward {best['reward']:.4f}, {best['params']:,} params, "
        f"{best['macs'] / 1e6:.1f}M MACs -> {cfg.out}/best.json (plot: {cfg.out}/rewards.png)"
    )
    if "final" in results:
        final = results["final"]
        console.print(
            f"retrained {final['epochs']} epochs: test top-1 {final['test_top1']:.2f}% "
            f"(train it again: convzoo train nas:{cfg.out}/best.json)"
        )
    return 0


def run_edf(args: argparse.Namespace) -> int:
    import contextlib
    import sys

    from rich.table import Table

    from convzoo.cli.output import console, print_json, show_table
    from convzoo.search.edf import EdfConfig, run_edf

    given = {
        "spaces": tuple(args.spaces) if args.spaces else None, "samples": args.samples,
        "epochs": args.child_epochs, "max_macs": args.max_macs, "min_macs": args.min_macs,
        "max_depth": args.max_depth, "max_width": args.max_width, "threads": args.threads,
        "batch_size": args.batch_size, "seed": args.seed,
        "out": args.out or ("runs/edf-quick" if args.quick else "runs/edf"),
        "dataset": args.dataset,
    }  # fmt: skip
    options = {k: v for k, v in given.items() if v is not None}
    cfg = EdfConfig.quick_preset(**options) if args.quick else EdfConfig(**options)
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        results = run_edf(cfg)
    if args.json:
        print_json(results)
        return 0
    summary = results["summary"]
    table = Table(title=f"error EDF: {results['title']}")
    for column in ("space", "n", "mean error", "min error"):
        table.add_column(column, justify="right")
    for t in summary["thresholds"]:
        table.add_column(f"F({t:.3f})", justify="right")
    for name, s in summary["spaces"].items():
        cells = [f"{s['edf'][str(t)]:.2f}" for t in summary["thresholds"]]
        table.add_row(name, str(s["n"]), f"{s['mean_error']:.3f}", f"{s['min_error']:.3f}", *cells)
    show_table(table)
    console.print(f"plot: {cfg.out}/edf.png, report: {cfg.out}/report.md")
    return 0
