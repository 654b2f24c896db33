"""Search strategies side by side at an equal trial budget, several search seeds each.

    PYTHONPATH=src python benchmarks/nas_compare.py --out runs/nas-compare \
        [--strategies reinforce random evolution tpe] [--seeds 0 1 2] [--trials 20] \
        [--space nasnet] [--threads 1] [--json benchmarks/nas_compare.json] \
        [--plot docs/images/nas_compare.png]

Each (strategy, seed) is one `convzoo search --quick` run with `--trials` trials in
``OUT/STRATEGY-SEED`` (a run that was interrupted resumes from its Optuna storage when
the script is started again; a finished one is only read). Then, per strategy over the
seeds: the best and the mean validation reward of the search, the test top-1 of the
retrained best (tested once), its parameters and MACs (mean ± std), and a plot of the
best reward so far against the trial number (mean and min-max band over the seeds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

STRATEGIES = ("reinforce", "random", "evolution", "tpe")


def run_search(out: Path, strategy: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    results = out / "results.json"
    if results.exists() and json.loads(results.read_text()).get("final"):
        return json.loads(results.read_text())
    command = [sys.executable, "-m", "convzoo", "search", "--quick", "--space", args.space,
               "--strategy", strategy, "--seed", str(seed), "--trials", str(args.trials),
               "--threads", str(args.threads), "--out", str(out)]  # fmt: skip
    print(" ".join(command[2:]), flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return json.loads(results.read_text())


def best_so_far(trials: list[dict[str, Any]]) -> list[float]:
    curve, best = [], 0.0
    for trial in sorted(trials, key=lambda t: t["trial"]):
        best = max(best, trial["reward"])
        curve.append(best)
    return curve


def mean_std(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def summarise(runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    rows = []
    for strategy, results in runs.items():
        rewards = [[t["reward"] for t in r["trials"]] for r in results]
        rows.append(
            {
                "strategy": strategy,
                "seeds": len(results),
                "best_reward": [max(r) for r in rewards],
                "mean_reward": [statistics.mean(r) for r in rewards],
                "test_top1": [r["final"]["test_top1"] for r in results],
                "params": [r["final"]["params"] for r in results],
                "macs": [r["final"]["macs"] for r in results],
                "search_seconds": [sum(t["seconds"] for t in r["trials"]) for r in results],
            }
        )
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| strategy | seeds | best val reward | mean val reward | retrained test top-1 (%) "
        "| params | MACs | search time (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['strategy']} | {row['seeds']} | {mean_std(row['best_reward'])} "
            f"| {mean_std(row['mean_reward'])} | {mean_std(row['test_top1'])} "
            f"| {statistics.mean(row['params']):,.0f} | {statistics.mean(row['macs']) / 1e6:.1f}M "
            f"| {statistics.mean(row['search_seconds']):.0f} |"
        )
    return "\n".join(lines)


def plot(runs: dict[str, list[dict[str, Any]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4))
    for strategy, results in runs.items():
        curves = [best_so_far(r["trials"]) for r in results]
        n = min(map(len, curves))
        x = range(1, n + 1)
        columns = [[c[i] for c in curves] for i in range(n)]
        ax.plot(x, [statistics.mean(c) for c in columns], label=f"{strategy} ({len(curves)} seeds)")
        ax.fill_between(x, [min(c) for c in columns], [max(c) for c in columns], alpha=0.2)
    ax.set_xlabel("trial")
    ax.set_ylabel("best validation reward so far")
    ax.set_title("Search strategies at an equal trial budget")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/nas-compare")
    parser.add_argument(
        "--strategies", nargs="+", default=["reinforce", "random", "evolution", "tpe"]
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--space", default="nasnet")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="write the summary here")
    parser.add_argument(
        "--plot", help="PNG of best reward so far per trial (default: OUT/compare.png)"
    )
    args = parser.parse_args()
    out = Path(args.out)
    runs = {
        strategy: [
            run_search(out / f"{strategy}-{seed}", strategy, seed, args) for seed in args.seeds
        ]
        for strategy in args.strategies
    }
    rows = summarise(runs)
    print(markdown(rows))
    plot(runs, Path(args.plot or out / "compare.png"))
    if args.json:
        setup = {k: v for k, v in vars(args).items() if k not in ("json", "plot")}
        Path(args.json).write_text(json.dumps({"setup": setup, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
