"""convzoo train MODEL [--dataset D] ... | convzoo train --resume RUN_DIR"""

from __future__ import annotations

import argparse
import sys

from convzoo.data.datasets import SKIP_BAD_SUFFIX
from convzoo.train.engine import (
    NonFiniteLossError,
    TrainConfig,
    parse_model_args,
    resume,
    train,
)

NAME = "train"
HELP = "Train a model on a dataset, with progress, checkpoints, logs, curves and a test score."
EXAMPLE = (
    "convzoo train lenet5_modern --dataset fashion-mnist --epochs 10\n"
    "  convzoo train --resume runs/lenet5_modern-fashion-mnist-20260101-120000\n"
    "  torchrun --nproc-per-node 2 -m convzoo train resnet20 --dataset cifar10"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = TrainConfig(model="-")
    a = parser.add_argument
    a("model", nargs="?", help="a registered name (see `convzoo list`)")
    a("--resume", metavar="RUN_DIR", help="continue this run from its last.pt")
    a(
        "--dataset",
        default=d.dataset,
        help="digits (default), mnist, fashion-mnist, kmnist, cifar10, cifar100, svhn, "
        "folder:PATH, synthetic",
    )
    a("--data-dir", help="look for dataset files here first (also: $CONVZOO_DATA)")
    a(
        "--skip-bad-images",
        action="store_true",
        help="folder: datasets: leave unreadable image files out (counted in the run's notes)",
    )
    a("--no-download", action="store_true", help="never download; fail if files are missing")
    a("--epochs", type=int, default=d.epochs)
    a("--batch-size", type=int, help="global batch, all processes (default 128; digits 32)")
    a("--optimizer", choices=("sgd", "adamw"), default=d.optimizer)
    a("--lr", type=float, help="peak learning rate (default 0.1 sgd, 1e-3 adamw)")
    a("--momentum", type=float, default=d.momentum)
    a("--nesterov", action="store_true")
    a("--weight-decay", type=float, help="default 5e-4 sgd, 0.05 adamw; never on norms/biases")
    a("--schedule", choices=("cosine", "step", "onecycle", "constant"), default=d.schedule)
    a("--warmup-epochs", type=float, help="linear warm-up (default 1 if epochs >= 5, else 0)")
    a(
        "--milestones",
        type=float,
        nargs="+",
        default=list(d.milestones),
        help="step schedule: fractions of the run where lr is multiplied by --gamma",
    )
    a("--gamma", type=float, default=d.gamma)
    a("--label-smoothing", type=float, default=d.label_smoothing)
    a("--grad-clip", type=float, help="clip the global gradient norm to this value")
    a(
        "--ema",
        type=float,
        dest="ema_decay",
        metavar="DECAY",
        help="keep an EMA of the weights (e.g. 0.999) and evaluate it",
    )
    a("--seed", type=int, default=d.seed)
    a("--deterministic", action="store_true", help="deterministic algorithms (exact resume)")
    a("--precision", choices=("fp32", "bf16"), default=d.precision)
    a("--channels-last", action="store_true")
    a("--compile", action="store_true", help="torch.compile the model")
    a("--input-size", type=int, help="resize images to this square size")
    a("--no-augment", action="store_true", help="no random crops or flips")
    a(
        "--val-fraction",
        type=float,
        default=d.val_fraction,
        help="share of the training set held out for validation (seeded by --split-seed)",
    )
    a("--split-seed", type=int, default=d.split_seed)
    a(
        "--workers",
        type=int,
        dest="num_workers",
        default=d.num_workers,
        help="image-decoding workers (folder: datasets)",
    )
    a("--eval-batch-size", type=int, default=d.eval_batch_size)
    a(
        "--checkpoint-every",
        type=int,
        default=0,
        metavar="STEPS",
        help="also write last.pt every STEPS steps inside an epoch",
    )
    a(
        "--model-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra keyword for the model builder, e.g. --model-arg dropout=0.2",
    )
    a("--out", help="run directory (default runs/<model>-<dataset>-<timestamp>)")
    a("--threads", type=int, help="torch threads per process")
    a("--device", choices=("auto", "cpu", "cuda"), default=d.device)
    a("--no-progress", action="store_true", help="no progress bar (epoch lines only)")
    a("--no-tensorboard", action="store_true")


def run(args: argparse.Namespace) -> int:
    from convzoo.train.distributed import shutdown

    try:
        if args.resume:
            changes = {"progress": not args.no_progress}
            if args.threads:
                changes["threads"] = args.threads
            result = resume(args.resume, **changes)
        else:
            if not args.model:
                raise ValueError("name a model to train (or pass --resume RUN_DIR)")
            cfg = TrainConfig(
                model=args.model,
                dataset=_dataset_name(args),
                epochs=args.epochs,
                batch_size=args.batch_size,
                optimizer=args.optimizer,
                lr=args.lr,
                momentum=args.momentum,
                nesterov=args.nesterov,
                weight_decay=args.weight_decay,
                schedule=args.schedule,
                warmup_epochs=args.warmup_epochs,
                milestones=tuple(args.milestones),
                gamma=args.gamma,
                label_smoothing=args.label_smoothing,
                grad_clip=args.grad_clip,
                ema_decay=args.ema_decay,
                seed=args.seed,
                deterministic=args.deterministic,
                precision=args.precision,
                channels_last=args.channels_last,
                compile=args.compile,
                input_size=args.input_size,
                augment=not args.no_augment,
                val_fraction=args.val_fraction,
                split_seed=args.split_seed,
                data_dir=args.data_dir,
                download=not args.no_download,
                num_workers=args.num_workers,
                eval_batch_size=args.eval_batch_size,
                checkpoint_every=args.checkpoint_every,
                model_kwargs=parse_model_args(args.model_arg),
                out=args.out,
                threads=args.threads,
                progress=not args.no_progress,
                tensorboard=not args.no_tensorboard,
                device=args.device,
            )
            result = train(cfg)
    except NonFiniteLossError as exc:
        print(f"convzoo train: stopped: {exc}", file=sys.stderr)
        return 1
    finally:
        shutdown()
    return 0 if result.status == "finished" else 130


def _dataset_name(args: argparse.Namespace) -> str:
    """--skip-bad-images is part of the dataset's name, so resume and eval apply it too."""
    if not args.skip_bad_images:
        return args.dataset
    if not args.dataset.startswith("folder:"):
        raise ValueError(f"--skip-bad-images applies to folder:PATH datasets, not {args.dataset}")
    return args.dataset.removesuffix(SKIP_BAD_SUFFIX) + SKIP_BAD_SUFFIX
