"""convzoo train MODEL [--dataset D] ... | convzoo train --resume RUN_DIR

The options are generated from `TrainConfig`'s fields (type, default, help), so a
new setting is one line in `convzoo.train.config`. Only options given on the
command line reach the config; everything else keeps the config's default.
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from dataclasses import MISSING, Field, fields
from typing import Any

from convzoo.train.config import TrainConfig, parse_model_args

NAME = "train"
HELP = "Train a model on a dataset, with progress, checkpoints, logs, curves and a test score."
EXAMPLE = (
    "convzoo train lenet5_modern --dataset fashion-mnist --epochs 10\n"
    "  convzoo train --resume runs/lenet5_modern-fashion-mnist-20260101-120000\n"
    "  torchrun --nproc-per-node 2 -m convzoo train resnet20 --dataset cifar10"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", nargs="?", help="a registered name (see `convzoo list`)")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue this run from its last.pt")
    types_ = TrainConfig.field_types()
    for f in fields(TrainConfig):
        if f.metadata.get("cli", True):
            add_config_option(parser, f, types_[f.name])
    parser.add_argument(
        "--model-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra keyword for the model builder, e.g. --model-arg dropout=0.2",
    )
    parser.add_argument(
        "--skip-bad-images",
        action="store_true",
        help="folder: datasets: leave unreadable image files out (counted in the run's notes)",
    )


def add_speed_arguments(parser: argparse.ArgumentParser) -> None:
    """Training's --precision and --channels-last (default auto: measured), for inference."""
    for f in fields(TrainConfig):
        if f.name in ("precision", "channels_last"):
            add_config_option(parser, f, str)
    parser.set_defaults(precision="auto", channels_last="auto")


def add_config_option(parser: argparse.ArgumentParser, f: Field, annotation: Any) -> None:
    """One option for one config field; absent from the namespace unless given."""
    flag = f.metadata.get("flag", "--" + f.name.replace("_", "-"))
    parse = f.metadata.get("parse")  # fields of several types parse their own text
    kind, optional = (argparse_type(parse), True) if parse else unwrap_optional(annotation)
    help_text = f.metadata.get("help", "")
    extra: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS}
    if kind is bool:
        extra["action"] = argparse.BooleanOptionalAction
    elif typing.get_origin(kind) is tuple:
        extra.update(type=typing.get_args(kind)[0], nargs="+")
    else:
        extra["type"] = kind
    if "choices" in f.metadata:
        extra["choices"] = f.metadata["choices"]
    if "const" in f.metadata:  # `--channels-last` alone means "on"
        extra.update(nargs="?", const=f.metadata["const"])
    if "metavar" in f.metadata:
        extra["metavar"] = f.metadata["metavar"]
    if f.default is not MISSING and f.default is not None and not optional:
        shown = show_default(f.default)
        help_text = f"{help_text} (default: {shown})" if help_text else f"default: {shown}"
    parser.add_argument(flag, help=help_text or None, **extra)


def argparse_type(parse: Any) -> Any:
    """`parse` with its ValueError shown by argparse as it is (not "invalid value")."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def show_default(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return " ".join(map(str, value))
    return str(value)


def unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """``int | None`` -> (int, True); ``float`` -> (float, False)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"a config field must have one type (or None), got {annotation}")
        return args[0], True
    return annotation, False


def given_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The config fields set on the command line."""
    options = [f.name for f in fields(TrainConfig) if f.metadata.get("cli", True)]
    return {name: getattr(args, name) for name in options if hasattr(args, name)}


def run(args: argparse.Namespace) -> int:
    from convzoo.train.distributed import shutdown
    from convzoo.train.engine import TrainingStopped, resume, train
    from convzoo.train.resume_changes import check_resume_changes

    settings = given_settings(args)
    ended = False  # every rank got here: they can leave the group together
    if args.skip_bad_images:
        settings["dataset"] = with_skip_bad(settings.get("dataset", TrainConfig.dataset))
    try:
        if args.resume:
            if args.model or args.model_arg:
                raise ValueError(
                    "--resume continues the run's own model; drop "
                    f"{'the model name' if args.model else '--model-arg'} (the run knows it)"
                )
            check_resume_changes(settings)
            result = resume(args.resume, **settings)
        else:
            if not args.model:
                raise ValueError("name a model to train (or pass --resume RUN_DIR)")
            model_kwargs = parse_model_args(args.model_arg)
            result = train(TrainConfig(model=args.model, model_kwargs=model_kwargs, **settings))
        ended = True
    except TrainingStopped as exc:
        print(f"convzoo train: stopped: {exc}", file=sys.stderr)
        return 1
    finally:
        shutdown(sync=ended)
    return 0 if result.status == "finished" else 130


def with_skip_bad(dataset: str) -> str:
    """--skip-bad-images is part of the dataset's name, so resume and eval apply it too."""
    from convzoo.data.splits import SKIP_BAD_SUFFIX

    if not dataset.startswith("folder:"):
        raise ValueError(f"--skip-bad-images applies to folder:PATH datasets, not {dataset}")
    return dataset.removesuffix(SKIP_BAD_SUFFIX) + SKIP_BAD_SUFFIX
