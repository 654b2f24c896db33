"""Batch augmentation throughput: random crop (zero padding) + horizontal flip + normalisation
of uint8 28x28 images, as the training batches do it (`convzoo.data.loader`).

    PYTHONPATH=src python benchmarks/augment_throughput.py --threads 2 --batch 128 512 \
        --json benchmarks/augment_throughput.json

The goal is that the data pipeline is never the bottleneck: >= 500k images/s here.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from convzoo.data import Augment
from convzoo.data.loader import normalize, seeded_generator
from convzoo.speed import machine_facts


def images_per_second(batch: int, *, seconds: float, with_normalize: bool) -> float:
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (batch, 1, 28, 28), dtype=torch.uint8, generator=gen)
    augment, mean, std = Augment(2, True), torch.tensor(0.286), torch.tensor(0.353)
    step, done, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        # a fresh seeded generator per batch, as in training (exact resume needs it)
        params = augment.params(batch, seeded_generator(0, 0, step, 1))
        out = augment.apply(images, *params)
        if with_normalize:
            normalize(out, mean, std)
        step, done = step + 1, done + batch
    return done / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, nargs="+", default=[128, 512])
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    images_per_second(128, seconds=0.2, with_normalize=True)  # warm-up
    rows = []
    for batch in args.batch:
        for norm in (False, True):
            ips = images_per_second(batch, seconds=args.seconds, with_normalize=norm)
            rows.append({"batch": batch, "normalize": norm, "img_per_s": ips})
            print(
                f"batch {batch:5d}  crop+flip{' +normalize' if norm else '':12s} {ips:12,.0f} img/s"
            )
    report = {"machine": machine_facts(), "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
