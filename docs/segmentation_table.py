"""Print the measured tables of docs/segmentation.md from the runs' own files.

    PYTHONPATH=src python docs/segmentation_table.py RUNS_DIR [REPRODUCE_DIR]

RUNS_DIR holds the run directories the commands in docs/segmentation.md write:
``padded``, ``unet`` and ``resnet18``. REPRODUCE_DIR is the ``--out`` of
``convzoo reproduce skip_connections`` (its runs are ``skip_connections/runs/ARM/seedK``).
Numbers come from each run's ``summary.json`` (test scores) and ``metrics.jsonl``
(epoch times).
"""

import json
import statistics
import sys
from pathlib import Path


def load(run: Path) -> tuple[dict, list[dict]]:
    summary = json.loads((run / "summary.json").read_text())
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return summary, records


def models_table(root: Path) -> None:
    print("| model | input | params | epoch time (median) | test mean IoU | IoU per class |")
    print("|---|---|---|---|---|---|")
    labels = {"unet": "unet", "padded": "unet_padded", "resnet18": "unet_padded encoder=resnet18"}
    for name, label in labels.items():
        if not (root / name / "summary.json").is_file():
            continue
        s, records = load(root / name)
        seconds = statistics.median(r["epoch_time_s"] for r in records)
        per_class = " / ".join("-" if v is None else f"{v:.1f}" for v in s["test_per_class_iou"])
        print(
            f"| {label} | {s['input_size'][0]} | {s['params']:,} | {seconds:.1f} s "
            f"| {s['test_miou']:.2f}% after {s['epochs']} epochs | {per_class} |"
        )


def _mean_std(values: list[float]) -> str:
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def _per_class(runs: list[dict], key: str) -> str:
    means = (statistics.mean(s[key][k] for s in runs) for k in range(len(runs[0][key])))
    return " / ".join(f"{v:.1f}" for v in means)


def skips_table(root: Path) -> None:
    """The `skip_connections` experiment's seeds: means ± std and per-class seed means."""
    print("\n| arm | params | test mean IoU | test Boundary IoU | Dice | pixel accuracy |")
    print("|---|---|---|---|---|---|")
    per_class = []
    for arm in ("with_skips", "without_skips"):
        folders = sorted((root / "skip_connections" / "runs" / arm).glob("seed*"))
        runs = [load(folder)[0] for folder in folders]
        pixel = [s["test_pixel_acc"] for s in runs]
        print(
            f"| {arm.replace('_', ' ')} | {runs[0]['params']:,} "
            f"| {_mean_std([s['test_miou'] for s in runs])} "
            f"| {_mean_std([s['test_boundary_iou'] for s in runs])} "
            f"| {statistics.mean(s['test_dice'] for s in runs):.2f} "
            f"| {min(pixel):.1f}-{max(pixel):.1f} |"
        )
        per_class.append(
            f"{arm}: IoU {_per_class(runs, 'test_per_class_iou')}, Boundary IoU "
            f"{_per_class(runs, 'test_per_class_boundary_iou')}"
        )
    print("\nper class (background / circle / rectangle / triangle), mean over seeds:")
    print("\n".join(per_class))


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "runs")
    models_table(folder)
    if len(sys.argv) > 2:
        skips_table(Path(sys.argv[2]))
