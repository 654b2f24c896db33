"""convzoo bench MODEL... [--mode train|infer] [--against torchvision|timm|onnxruntime]"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "bench"
HELP = "Throughput side by side: modes (fp32, channels_last, bf16, compile, ONNX Runtime), twins."
EXAMPLE = (
    "convzoo bench resnet50_v1_5 --mode infer --against onnxruntime --batch-size 32\n"
    "  convzoo bench resnet20 lenet5_modern --mode train --input-size 28\n"
    "  convzoo bench --all-twins --against torchvision --json --save benchmarks/twins.json"
)
MODES = ("fp32", "channels_last", "bf16", "compile", "onnxruntime")  # = convzoo.bench.MODES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("models", nargs="*", metavar="MODEL", help="registered names")
    parser.add_argument(
        "--all-twins",
        action="store_true",
        help="every model with a torchvision/timm twin (with --against: that library's)",
    )
    parser.add_argument("--mode", choices=("train", "infer"), default="train")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--input-size", type=int, help="square input side (default: the model's)")
    parser.add_argument(
        "--against",
        choices=("torchvision", "timm", "onnxruntime"),
        help="the reference of the ratio column (default: convzoo fp32)",
    )
    parser.add_argument(
        "--modes",
        nargs="+",
        choices=MODES,
        default=None,
        help="default: fp32 channels_last bf16 (+ onnxruntime with --against)",
    )
    parser.add_argument(
        "--compile", action="store_true", help="add torch.compile (slow to compile)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed turns of each candidate")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--save", type=Path, metavar="FILE", help="also write the JSON here")


def run(args: argparse.Namespace) -> int:
    import torch

    from convzoo.bench import DEFAULT_MODES, bench, models_with_twins
    from convzoo.cli.output import print_json

    if args.threads:
        torch.set_num_threads(args.threads)
    twin_source = args.against if args.against in ("torchvision", "timm") else None
    names = list(args.models) + (models_with_twins(twin_source) if args.all_twins else [])
    if not names:
        raise ValueError("name at least one model (or pass --all-twins)")
    modes = list(args.modes or DEFAULT_MODES) + (["compile"] if args.compile else [])
    result = bench(
        names,
        mode=args.mode,
        batch_size=args.batch_size,
        input_size=args.input_size,
        against=args.against,
        modes=modes,
        repeats=args.repeats,
    )
    data = result.as_dict()
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps(data, indent=2) + "\n")
    if args.json:
        print_json(data)
    else:
        print_table(data)
    return 0


def print_table(data: dict) -> None:
    from rich.table import Table

    from convzoo.cli.output import show_table

    m = data["machine"]
    table = Table(
        title=f"{data['mode']}, batch {data['batch_size']}: {m['cpu']} ({m['capability']}, "
        f"bf16 {'native' if m['avx512_bf16'] or m['amx'] else 'emulated'}), "
        f"{m['threads']} threads, torch {m['torch']}, load {m['load_average'][0]:.1f}"
    )
    for column in ("model", "implementation", "mode", "img/s (median)", "min", "max", "ratio"):
        table.add_column(
            column, justify="right" if column[0] in "irm" and column != "model" else "left"
        )
    for r in data["rows"]:
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] is not None else "-"
        median = f"{r['median']:.1f}" if r["img_per_s"] else r["note"] or "-"
        table.add_row(
            r["model"],
            r["implementation"],
            r["mode"],
            median,
            f"{r['min']:.1f}",
            f"{r['max']:.1f}",
            ratio,
        )
    show_table(table, drop=("min", "max"))
    for r in data["rows"]:
        if r["note"] and r["img_per_s"]:
            print(f"  note: {r['model']} {r['implementation']} {r['mode']}: {r['note']}")
