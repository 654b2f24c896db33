"""Time `compare` over every registered model (meta device); prints JSON.

Uncached: every model built and traced on the meta device. Cached: the CLI's
default, rows read back from the JSON cache keyed by the source fingerprint.

    PYTHONPATH=src python benchmarks/bench_compare.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time

import torch

from convzoo.analysis.compare import compare
from convzoo.registry import list_families, list_models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    names = list_models()
    compare(names[:1])  # warm-up: the first meta dispatch of each op is slower
    wall, cpu = [], []
    for _ in range(args.repeat):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        rows = compare(names)
        wall.append(time.perf_counter() - start_wall)
        cpu.append(time.process_time() - start_cpu)
    with tempfile.TemporaryDirectory() as cache:
        compare(names, cache_dir=cache)  # fills the cache
        start = time.perf_counter()
        compare(names, cache_dir=cache)
        cached = time.perf_counter() - start
    print(
        json.dumps(
            {
                "benchmark": "compare --all",
                "cached_wall_seconds": cached,
                "models": len(rows),
                "families": len(list_families()),
                "wall_seconds": {"min": min(wall), "all": wall},
                "cpu_seconds": {"min": min(cpu), "all": cpu},
                "per_model_ms": 1000 * min(wall) / len(rows),
                "torch": torch.__version__,
                "python": platform.python_version(),
                "threads": torch.get_num_threads(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
