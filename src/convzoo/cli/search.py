"""convzoo search --space S --strategy T --dataset D --trials N ... (see convzoo.search.run)."""

from __future__ import annotations

import argparse

NAME = "search"
HELP = "Neural architecture search: sample, train and rank child networks; retrain the best."
EXAMPLE = (
    "convzoo search --quick\n"
    "  convzoo search --space nasnet --strategy reinforce --dataset fashion-mnist "
    "--trials 50 --child-epochs 2 --out runs/nas-rl --workers 2"
)
SPACES = ("nasnet", "zoph", "anynet")
STRATEGIES = ("reinforce", "random", "evolution", "tpe")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--space", choices=SPACES, default="nasnet", help="the search space")
    parser.add_argument(
        "--strategy", choices=STRATEGIES, default="reinforce", help="how specs are proposed"
    )
    parser.add_argument("--dataset", default="fashion-mnist", help="as for `convzoo train`")
    parser.add_argument("--trials", type=int, help="finished trials to run (default 20; quick 6)")
    parser.add_argument("--child-epochs", type=int, help="epochs per child (default 1)")
    parser.add_argument("--final-epochs", type=int, help="epochs retraining the best")
    parser.add_argument("--max-macs", type=float, help="redraw children above this many MACs")
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
        "--json", action="store_true", help="print results.json (progress goes to stderr)"
    )


def run(args: argparse.Namespace) -> int:
    import contextlib
    import sys

    from convzoo.cli.output import console, print_json, show_table
    from convzoo.search.run import SearchConfig, finished_trials, leaderboard, open_study, search

    given = {
        "trials": args.trials, "child_epochs": args.child_epochs,
        "final_epochs": args.final_epochs, "max_macs": args.max_macs,
        "target_macs": args.target_macs, "storage": args.storage, "threads": args.threads,
        "batch_size": args.batch_size,
    }  # fmt: skip
    options = {k: v for k, v in given.items() if v is not None}
    options.update(
        space=args.space, strategy=args.strategy, dataset=args.dataset, workers=args.workers,
        seed=args.seed, out=args.out or f"runs/search-{args.space}-{args.strategy}",
    )  # fmt: skip
    cfg = SearchConfig.quick_preset(**options) if args.quick else SearchConfig(**options)
    # with --json, stdout holds only the JSON: what people read goes to stderr
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        print(
            f"searching {cfg.space} with {cfg.strategy} on {cfg.dataset}: {cfg.trials} trials "
            f"of {cfg.child_epochs} epoch(s), {cfg.workers} worker(s) -> {cfg.out} "
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
