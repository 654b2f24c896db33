"""convzoo lr-find MODEL [--dataset D] [--batch-size B] [--optimizer O] ... [--plot FILE]

The options that shape the sweep are `convzoo train`'s own (same names, help and
defaults), so the suggestion is for the run `convzoo train` would make.
"""

from __future__ import annotations

import argparse
from dataclasses import fields

from convzoo.cli.output import console, print_json
from convzoo.cli.train import add_config_option, given_settings
from convzoo.train.config import TrainConfig, parse_model_args

NAME = "lr-find"
HELP = "Learning-rate range test: loss against an exponentially growing lr, and a suggestion."
EXAMPLE = (
    "convzoo lr-find resnet20 --dataset fashion-mnist --plot lr-find-resnet20.png\n"
    "  convzoo train resnet20 --dataset fashion-mnist --lr auto   (uses the same test)"
)

# the training settings that change what the sweep sees
FIELDS = (
    "dataset", "batch_size", "optimizer", "momentum", "nesterov", "weight_decay",
    "label_smoothing", "input_size", "augment", "seed", "val_fraction", "split_seed",
    "data_dir", "download", "num_workers", "threads",
)  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a registered name (see `convzoo list`)")
    types_ = TrainConfig.field_types()
    for f in fields(TrainConfig):
        if f.name in FIELDS:
            add_config_option(parser, f, types_[f.name])
    parser.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE",
                        help="extra keyword for the model builder")  # fmt: skip
    parser.add_argument("--start", type=float, default=1e-6, help="first lr (default: 1e-6)")
    parser.add_argument("--end", type=float, default=10.0, help="last lr (default: 10)")
    parser.add_argument("--steps", type=int, default=100, help="steps (default: 100)")
    parser.add_argument("--plot", metavar="FILE", help="default lr-find-MODEL-DATASET.png")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from convzoo.train.lr_find import lr_find, plot_lr_find

    settings = {k: v for k, v in given_settings(args).items() if k in FIELDS}
    cfg = TrainConfig(model=args.model, model_kwargs=parse_model_args(args.model_arg), **settings)
    result = lr_find(cfg, start=args.start, end=args.end, steps=args.steps)
    dataset = result.dataset.split(":")[0].replace("/", "-")
    plot = plot_lr_find(result, args.plot or f"lr-find-{cfg.model}-{dataset}.png")
    if args.json:
        print_json({**result.as_dict(), "plot": str(plot)})
        return 0
    console.print(
        f"{result.model} on {result.dataset} ({result.optimizer}, batch {result.batch_size}): "
        f"{len(result.lrs)} steps from {result.lrs[0]:.3g} to {result.lrs[-1]:.3g}"
    )
    console.print(
        f"suggested lr {result.suggestion:.3g}  ({result.rule}; minimum at "
        f"{result.min_loss_lr:.3g}, steepest descent at {result.steepest_lr:.3g})"
    )
    console.print(f"plot -> {plot}   train with it: convzoo train {cfg.model} --lr auto")
    return 0
