"""Training-step throughput on this CPU: fp32 vs bf16 autocast, with and without channels_last.

Each setting runs warm-up steps, then timed SGD steps (forward, loss, backward,
update) on random data; the best of a few repeats is kept because the machine
may be shared. Prints a table and writes JSON.

    PYTHONPATH=src python benchmarks/train_step.py --models bn_lenet tv:resnet18 resnet20 \
        --input-size 32 --batch-size 64 --threads 2 --json benchmarks/train_step.json

Models: registered convzoo names, ``tv:NAME`` for a torchvision classifier, or
``bn_lenet`` (LeNet-5 with batch norm, a small network defined here).
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch
from torch import nn

SETTINGS = (("fp32", False), ("bf16", False), ("fp32", True), ("bf16", True))


def bn_lenet(in_channels: int, num_classes: int) -> nn.Module:
    def block(i: int, o: int, k: int) -> list[nn.Module]:
        return [nn.Conv2d(i, o, k), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2)]

    return nn.Sequential(
        *block(in_channels, 6, 5), *block(6, 16, 5), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, num_classes),
    )  # fmt: skip


def build(name: str, in_channels: int, num_classes: int) -> nn.Module:
    if name == "bn_lenet":
        return bn_lenet(in_channels, num_classes)
    if name.startswith("tv:"):
        import torchvision

        model = torchvision.models.get_model(name[3:], weights=None, num_classes=num_classes)
        if in_channels != 3:
            raise ValueError("torchvision models are measured with 3 input channels")
        return model
    import convzoo

    return convzoo.create_model(name, num_classes=num_classes, in_channels=in_channels)


def images_per_second(model, x, y, *, precision, channels_last, steps, warmup, repeats) -> float:
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    model.train()

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            out = model(x)
        out = out.logits if hasattr(out, "logits") else out
        loss = loss_fn(out.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        best = max(best, steps * len(x) / (time.perf_counter() - start))
    return best


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--models", nargs="+", default=["bn_lenet", "tv:resnet18"])
    p.add_argument("--input-size", type=int, default=32)
    p.add_argument(
        "--in-channels", type=int, default=None, help="default: 1 for bn_lenet/lenet*, else 3"
    )
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--json", help="write results here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = []
    for name in args.models:
        channels = args.in_channels or (1 if "lenet" in name else 3)
        x = torch.randn(args.batch_size, channels, args.input_size, args.input_size)
        y = torch.randint(10, (args.batch_size,))
        row = {"model": name, "input": [channels, args.input_size, args.input_size]}
        for precision, cl in SETTINGS:
            model = build(name, channels, 10)
            key = precision + ("+channels_last" if cl else "")
            row[key] = images_per_second(
                model,
                x,
                y,
                precision=precision,
                channels_last=cl,
                steps=args.steps,
                warmup=args.warmup,
                repeats=args.repeats,
            )
        rows.append(row)
        speedups = "  ".join(
            f"{k} {row[k]:.0f} ({row[k] / row['fp32']:.2f}x)"
            for k in row
            if "fp32" in k or "bf16" in k
        )
        print(f"{name:>14}: {speedups}", flush=True)
    result = {
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": args.threads,
        "batch_size": args.batch_size,
        "bf16_supported": torch.backends.mkldnn.is_available()
        and torch.ops.mkldnn._is_mkldnn_bf16_supported(),
        "images_per_second": rows,
    }
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)
    print(json.dumps({k: v for k, v in result.items() if k != "images_per_second"}))


if __name__ == "__main__":
    main()
