"""convzoo's training engine against a bare PyTorch loop doing the same work, side by side.

Steady state (one process): for each model, alternating repeats of
  bare    a fresh model, plain ``torch.optim.SGD`` (lr 0.1, momentum 0.9, weight
          decay 5e-4), the same uint8 images in memory, the same random crops and
          flips and normalisation per batch, no logging at all: warm-up steps,
          then `--steps` timed steps;
  engine  a fresh `convzoo.train.engine.Trainer` on the same settings, run for 2
          epochs of `--steps` steps each; its own record of epoch 2's training
          images/s (the model is warm by then) is the number.
Both sides run fp32 in the default layout (the same work; ``--precision auto``
would let the engine pick a faster setting than the bare loop uses).
Whole run (`--whole-run`, subprocesses, alternating): the wall time of
``python -m convzoo train MODEL --dataset fashion-mnist --epochs 1`` (start-up,
data loading, validation, test, checkpoints, curves) against the same script's
``--bare-run`` (import, load the same data, one epoch of the bare loop, test once).

    PYTHONPATH=src python benchmarks/engine_vs_bare.py --models lenet5_modern resnet20 \
        --steps 40 --repeats 3 --threads 2 --whole-run lenet5_modern \
        --json benchmarks/engine_vs_bare.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from convzoo.data import Augment, load_dataset, split_validation
from convzoo.data.loader import normalize
from convzoo.registry import create_model
from convzoo.speed import cpu_model
from convzoo.train.engine import TrainConfig, Trainer
from convzoo.train.setup import crop_padding, resolve_input_size

DATASET = "fashion-mnist"
ROOT = Path(__file__).resolve().parents[1]


# -- the bare loop ----------------------------------------------------------
class BareRun:
    """Everything the bare loop needs, prepared once (not timed)."""

    def __init__(self, model_name: str, batch_size: int, seed: int = 0) -> None:
        data = load_dataset(DATASET, download=False)
        probe = create_model(model_name, num_classes=data.num_classes, in_channels=1)
        size, _ = resolve_input_size(probe, data, None)
        train, _ = split_validation(data.train, 0.1, 0)
        self.train = train.resized(size)
        self.test = data.test.resized(size)
        self.augment = Augment(crop_padding(data, size), data.flip)
        self.mean = torch.tensor(data.mean).view(1, -1, 1, 1)
        self.std = torch.tensor(data.std).view(1, -1, 1, 1)
        self.model_name, self.batch_size, self.seed = model_name, batch_size, seed
        self.num_classes = data.num_classes

    def fresh(self) -> tuple[nn.Module, torch.optim.Optimizer]:
        torch.manual_seed(self.seed)
        model = create_model(self.model_name, num_classes=self.num_classes, in_channels=1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        return model.train(), opt

    def batches(self, steps: int, epoch: int = 0):
        gen = torch.Generator().manual_seed(self.seed * 1000 + epoch)
        order = torch.randperm(len(self.train), generator=gen)
        images, labels, b = self.train.images, self.train.labels, self.batch_size
        for s in range(steps):
            index = order[s * b : (s + 1) * b]
            params = self.augment.params(b, gen)
            batch = self.augment.apply(images[index], *params)
            yield normalize(batch, self.mean, self.std), labels[index]

    def steps(self, model: nn.Module, opt: torch.optim.Optimizer, steps: int, epoch: int = 0):
        for x, y in self.batches(steps, epoch):
            self.step(model, opt, x, y)

    @staticmethod
    def step(model: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor):
        out = model(x)
        loss = nn.functional.cross_entropy(getattr(out, "logits", out), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def images_per_second(self, steps: int, warmup: int) -> float:
        model, opt = self.fresh()
        self.steps(model, opt, warmup, epoch=1)
        start = time.perf_counter()
        self.steps(model, opt, steps)
        return steps * self.batch_size / (time.perf_counter() - start)

    @torch.no_grad()
    def test_accuracy(self, model: nn.Module) -> float:
        model.eval()
        correct = 0
        for i in range(0, len(self.test), 256):
            x = normalize(self.test.images[i : i + 256], self.mean, self.std)
            correct += (model(x).argmax(1) == self.test.labels[i : i + 256]).sum().item()
        return 100 * correct / len(self.test)


def bare_run(model_name: str, batch_size: int) -> dict[str, Any]:
    """One epoch of the bare loop from a cold start (run as a subprocess)."""
    start = time.perf_counter()
    run = BareRun(model_name, batch_size)
    model, opt = run.fresh()
    steps = len(run.train) // batch_size
    train_start = time.perf_counter()
    run.steps(model, opt, steps)
    train_time = time.perf_counter() - train_start
    top1 = run.test_accuracy(model)
    return {"train_time_s": train_time, "in_process_s": time.perf_counter() - start, "top1": top1}


# -- the engine -------------------------------------------------------------
class FirstSteps:
    """The first `steps` batches of each epoch of a `Batches` (a shorter epoch)."""

    def __init__(self, batches, steps: int) -> None:
        self.batches, self.steps = batches, steps

    def __len__(self) -> int:
        return self.steps

    def epoch(self, epoch: int = 0, start_step: int = 0):
        for step, batch in enumerate(self.batches.epoch(epoch, start_step)):
            if start_step + step >= self.steps:
                return
            yield batch


def engine_images_per_second(model_name: str, steps: int, threads: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        cfg = TrainConfig(model=model_name, dataset=DATASET, epochs=2, download=False,
                          precision="fp32", channels_last="off", progress=False,
                          tensorboard=False, threads=threads, out=out)  # fmt: skip
        trainer = Trainer(cfg)
        trainer.train_batches = FirstSteps(trainer.train_batches, steps)
        trainer.steps_per_epoch = steps
        # validation and test are not part of the timed training; keep them short here
        trainer.val_batches = FirstSteps(trainer.val_batches, 2)
        trainer.test_batches = FirstSteps(trainer.test_batches, 2)
        trainer.fit()
        return trainer.log.records[-1]["img_per_s"]


class Alternating:
    """Train batches for the Trainer that run one bare-loop step after each engine step.

    The engine's step time is measured from asking for its batch (so the data
    pipeline counts) to asking for the next one; the bare step, with its own
    batch preparation, runs in between. Both see the same machine load, step by
    step, which matters on a shared machine whose load changes every few seconds.
    """

    def __init__(self, batches, bare: BareRun, steps: int, warmup: int) -> None:
        self.batches, self.bare, self.steps, self.warmup = batches, bare, steps, warmup
        self.model, self.opt = bare.fresh()
        self.engine_s: list[float] = []
        self.bare_s: list[float] = []

    def __len__(self) -> int:
        return self.steps

    def epoch(self, epoch: int = 0, start_step: int = 0):
        bare_batches = self.bare.batches(self.steps, epoch)
        inner = self.batches.epoch(epoch, start_step)
        for step in range(start_step, self.steps):
            start = time.perf_counter()
            batch = next(inner)
            yield batch  # the engine trains on it
            engine = time.perf_counter() - start
            start = time.perf_counter()
            self.bare.step(self.model, self.opt, *next(bare_batches))
            if step >= self.warmup:
                self.engine_s.append(engine)
                self.bare_s.append(time.perf_counter() - start)


def alternating(model_name: str, steps: int, warmup: int, threads: int) -> dict:
    """Engine and bare steps in turns inside one Trainer epoch (see `Alternating`)."""
    bare = BareRun(model_name, batch_size=128)
    with tempfile.TemporaryDirectory() as out:
        cfg = TrainConfig(model=model_name, dataset=DATASET, epochs=1, download=False,
                          precision="fp32", channels_last="off", progress=False,
                          tensorboard=False, threads=threads, out=out)  # fmt: skip
        trainer = Trainer(cfg)
        turns = Alternating(trainer.train_batches, bare, steps + warmup, warmup)
        trainer.train_batches, trainer.steps_per_epoch = turns, steps + warmup
        trainer.val_batches = FirstSteps(trainer.val_batches, 2)
        trainer.test_batches = FirstSteps(trainer.test_batches, 2)
        trainer.fit()
    e, b = turns.engine_s, turns.bare_s
    return {
        "steps": len(e),
        "engine_img_per_s": 128 * len(e) / sum(e),
        "bare_img_per_s": 128 * len(b) / sum(b),
        "ratio_total": sum(b) / sum(e),
        "ratio_median_step": statistics.median(b) / statistics.median(e),
    }


# -- measurements -----------------------------------------------------------
def spread(values: list[float]) -> dict[str, float | list[float]]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values),
            "all": values}  # fmt: skip


def steady_state(model: str, steps: int, warmup: int, repeats: int, threads: int) -> dict:
    bare = BareRun(model, batch_size=128)
    results: dict[str, list[float]] = {"bare": [], "engine": []}
    for r in range(repeats):
        order = ("bare", "engine") if r % 2 == 0 else ("engine", "bare")
        for who in order:
            if who == "bare":
                results[who].append(bare.images_per_second(steps, warmup))
            else:
                results[who].append(engine_images_per_second(model, steps, threads))
            print(f"  {model} {who:6s} {results[who][-1]:8.1f} img/s", flush=True)
    b, e = statistics.median(results["bare"]), statistics.median(results["engine"])
    return {"bare": spread(results["bare"]), "engine": spread(results["engine"]),
            "ratio": e / b}  # fmt: skip


def whole_run(model: str, repeats: int, threads: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": str(threads)}
    walls: dict[str, list[float]] = {"bare": [], "engine": []}
    extra: dict[str, list[dict]] = {"bare": [], "engine": []}
    for r in range(repeats):
        order = ("bare", "engine") if r % 2 == 0 else ("engine", "bare")
        for who in order:
            with tempfile.TemporaryDirectory() as out:
                if who == "bare":
                    cmd = [sys.executable, __file__, "--bare-run", model, "--threads", str(threads)]
                else:
                    cmd = [sys.executable, "-m", "convzoo", "train", model, "--dataset", DATASET,
                           "--epochs", "1", "--precision", "fp32", "--channels-last", "off",
                           "--no-progress", "--no-tensorboard", "--no-download",
                           "--threads", str(threads), "--out", out]  # fmt: skip
                start = time.perf_counter()
                done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
                walls[who].append(time.perf_counter() - start)
                if who == "bare":
                    extra[who].append(json.loads(done.stdout.splitlines()[-1]))
                else:
                    summary = json.loads((Path(out) / "summary.json").read_text())
                    keep = ("train_time_s", "train_img_per_s", "wall_time_s", "test_top1")
                    extra[who].append({k: summary[k] for k in keep})
            print(f"  {model} whole run {who:6s} {walls[who][-1]:6.1f} s", flush=True)
    b, e = statistics.median(walls["bare"]), statistics.median(walls["engine"])
    bare_train = statistics.median(x["train_time_s"] for x in extra["bare"])
    return {"bare_wall_s": spread(walls["bare"]), "engine_wall_s": spread(walls["engine"]),
            "ratio_to_bare_wall": e / b, "ratio_to_bare_train_time": e / bare_train,
            "details": extra}  # fmt: skip


def machine() -> dict[str, Any]:
    return {"cpu": cpu_model(), "capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(), "torch": torch.__version__,
            "python": platform.python_version(), "load_average": os.getloadavg()}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="+", default=["lenet5_modern", "resnet20"])
    p.add_argument("--steps", type=int, default=40, help="timed steps per repeat")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--alternate",
        action="store_true",
        help="also: engine and bare steps in turns within one epoch",
    )
    p.add_argument("--whole-run", nargs="*", default=[], metavar="MODEL")
    p.add_argument("--whole-repeats", type=int, default=2)
    p.add_argument("--json", type=Path)
    p.add_argument("--bare-run", metavar="MODEL", help=argparse.SUPPRESS)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.bare_run:
        print(json.dumps(bare_run(args.bare_run, 128)))
        return
    report: dict[str, Any] = {"machine": machine(), "steps": args.steps, "steady": {},
                              "alternating": {}, "whole_run": {}}  # fmt: skip
    for model in args.models:
        if args.alternate:
            report["alternating"][model] = alternating(model, args.steps, args.warmup, args.threads)
        if args.repeats:
            report["steady"][model] = steady_state(
                model, args.steps, args.warmup, args.repeats, args.threads
            )
    for model in args.whole_run:
        report["whole_run"][model] = whole_run(model, args.whole_repeats, args.threads)
    report["machine"]["load_average_after"] = os.getloadavg()
    print(f"\n{report['machine']['cpu']} ({report['machine']['capability']}), "
          f"{args.threads} threads, load {report['machine']['load_average']}")  # fmt: skip
    for model, r in report["steady"].items():
        print(f"{model:16s} steady  bare {r['bare']['median']:8.1f}  engine "
              f"{r['engine']['median']:8.1f} img/s  ratio {r['ratio']:.3f}")  # fmt: skip
    for model, r in report["alternating"].items():
        print(f"{model:16s} in turns, {r['steps']} steps each: bare {r['bare_img_per_s']:8.1f}  "
              f"engine {r['engine_img_per_s']:8.1f} img/s  ratio {r['ratio_total']:.3f} "
              f"(median step {r['ratio_median_step']:.3f})")  # fmt: skip
    for model, r in report["whole_run"].items():
        print(f"{model:16s} 1 epoch bare {r['bare_wall_s']['median']:6.1f} s  engine "
              f"{r['engine_wall_s']['median']:6.1f} s  ratio {r['ratio_to_bare_wall']:.3f} "
              f"(to bare training time alone {r['ratio_to_bare_train_time']:.3f})")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
