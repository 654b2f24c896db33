"""Saved-for-backward bytes: meta-device estimate vs a real CPU training forward; JSON.

PYTHONPATH=src python benchmarks/bench_memory.py [MODEL ...] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from convzoo.analysis.memory import estimate_memory, measure_saved_bytes
from convzoo.registry import create_model

DEFAULT = ("lenet5", "allcnn_c", "nin_cifar", "alexnet", "resnet18", "resnet50", "densenet121")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("models", nargs="*", default=None)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    from convzoo.registry import list_models

    names = args.models or [n for n in DEFAULT if n in list_models()]
    results = []
    for name in names:
        with torch.device("meta"):
            size = create_model(name).default_input_size
        start = time.perf_counter()
        estimate = estimate_memory(name)
        est_seconds = time.perf_counter() - start
        start = time.perf_counter()
        measured = measure_saved_bytes(name, batch_size=args.batch_size)
        results.append(
            {
                "model": name,
                "input": list(size),
                "batch_size": args.batch_size,
                "estimated_saved_bytes": estimate.saved_bytes(args.batch_size),
                "measured_saved_bytes": measured,
                "relative_error": estimate.saved_bytes(args.batch_size) / measured - 1,
                "estimate_seconds": est_seconds,
                "measure_seconds": time.perf_counter() - start,
                "training_bytes_momentum": estimate.training_bytes(args.batch_size),
            }
        )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
