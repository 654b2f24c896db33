"""Print the measured tables of docs/segmentation.md from the runs' own files.

    PYTHONPATH=src python docs/segmentation_table.py RUNS_DIR

RUNS_DIR holds the run directories the commands in docs/segmentation.md write:
``padded``, ``unet``, ``resnet18`` and ``abl-{true,false}-{0,1,2}``. Numbers come
from each run's ``summary.json`` (test scores) and ``metrics.jsonl`` (epoch times).
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


def skips_table(root: Path) -> None:
    print("\n| skip connections | params | mean IoU per seed (0, 1, 2) | mean +- std | Dice |")
    print("|---|---|---|---|---|")
    for skips in ("true", "false"):
        runs = [load(root / f"abl-{skips}-{seed}")[0] for seed in range(3)]
        ious = [s["test_miou"] for s in runs]
        dice = statistics.mean(s["test_dice"] for s in runs)
        print(
            f"| {'with' if skips == 'true' else 'without'} | {runs[0]['params']:,} "
            f"| {', '.join(f'{v:.2f}' for v in ious)} "
            f"| {statistics.mean(ious):.2f} +- {statistics.stdev(ious):.2f} | {dice:.2f} |"
        )


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "runs")
    models_table(folder)
    skips_table(folder)
