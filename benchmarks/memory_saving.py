"""Memory saved and time paid by the training engine's memory-saving modes; prints JSON.

Each mode runs in its own process (peak RSS is per process): build the model and
an SGD optimizer, take `--steps` training steps (forward, backward, update) on
random images, and report the growth of the peak resident set over the baseline
after the model was built, the bytes autograd saved for backward in one forward
pass, and the seconds per step after the first.

    PYTHONPATH=src python benchmarks/memory_saving.py densenet_bc190 --batch-size 16 \\
        --modes none memory-efficient checkpoint-stages --steps 3 --threads 2

With ``--estimate``, no training: the engine's estimate (`convzoo.train.memory_check`)
of each model's training memory at `--batch-size`, as is and in each mode it has:

    PYTHONPATH=src python benchmarks/memory_saving.py densenet_bc190 preact_resnet1001 \\
        --estimate --batch-size 128
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time


def one(name: str, mode: str, batch_size: int, size: int, steps: int, threads: int) -> dict:
    import torch

    from convzoo.analysis.memory import measure_saved_bytes
    from convzoo.registry import create_model
    from convzoo.train.memory_check import apply_mode

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = apply_mode(create_model(name), mode).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch_size, 3, size, size)
    y = torch.randint(0, model.num_classes, (batch_size,))
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "model": name,
        "mode": mode,
        "batch_size": batch_size,
        "input": [3, size, size],
        "peak_rss_growth_bytes": peak - baseline,
        "saved_tensor_bytes": measure_saved_bytes(model, size, batch_size=batch_size),
        "seconds_per_step": sorted(times[1:] or times)[len(times[1:] or times) // 2],
        "step_seconds": times,
        "threads": threads,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("models", nargs="+")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--modes", nargs="+", default=["none", "memory-efficient"])
    parser.add_argument("--estimate", action="store_true", help="estimates only, no training")
    parser.add_argument("--one", metavar="MODE", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.estimate:
        print(json.dumps([estimates(m, args.batch_size, args.size) for m in args.models], indent=2))
        return
    for model in args.models:
        measure(model, args)


def estimates(name: str, batch_size: int, size: int) -> dict:
    import torch

    from convzoo.registry import create_model
    from convzoo.train.memory_check import estimate_training_bytes, supported_modes

    with torch.device("meta"):
        modes = ["none", *supported_modes(create_model(name))]
    shape = (3, size, size)
    return {
        "model": name,
        "batch_size": batch_size,
        "training_bytes": {
            mode: estimate_training_bytes(name, {}, shape, batch_size=batch_size, mode=mode)
            for mode in modes
        },
    }


def measure(model: str, args: argparse.Namespace) -> None:
    if args.one:
        result = one(model, args.one, args.batch_size, args.size, args.steps, args.threads)
        print(json.dumps(result))
        return
    rows = []
    for mode in args.modes:
        child = [sys.executable, __file__, model, "--one", mode,
                 "--batch-size", str(args.batch_size), "--size", str(args.size),
                 "--steps", str(args.steps), "--threads", str(args.threads)]  # fmt: skip
        out = subprocess.run(child, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)  # progress, in case of a stop
    plain = rows[0]
    for row in rows:
        row["rss_vs_first"] = row["peak_rss_growth_bytes"] / plain["peak_rss_growth_bytes"]
        row["time_vs_first"] = row["seconds_per_step"] / plain["seconds_per_step"]
    print(json.dumps({"cpu": platform.processor() or platform.machine(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
