"""Export every registered network and record what works: the table in docs/export.md.

    python -m convzoo.export.sweep                 # all models, both formats
    python -m convzoo.export.sweep 'resnet*' lenet5 --format onnx --jsonl sweep.jsonl

Each model is built with random weights and 10 classes, exported at its
smallest accepted input (its fixed size if it has one) and verified as
`export_onnx` / `export_torchscript` do. Files go to a temporary folder and are
deleted after each model.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from convzoo.export.verified import FORMATS, SUFFIX, ExportError, export_model
from convzoo.factory import create_model
from convzoo.registry import list_models, model_card

__all__ = ["SweepRow", "sweep", "sweep_one"]


@dataclass(frozen=True)
class SweepRow:
    model: str
    family: str
    format: str
    input_shape: tuple[int, int, int]
    ok: bool
    max_abs_diff: float | None
    max_abs_output: float | None  # scale of the logits the difference is measured against
    error: str | None  # why the export failed (first line of the root cause)
    seconds: float


def smallest_input(model: torch.nn.Module) -> tuple[int, int]:
    """The smallest (H, W) the network accepts: its fixed size, else its minimum."""
    if getattr(model, "fixed_input_size", False):
        return tuple(model.default_input_size)  # type: ignore[return-value]
    side = model.min_input_size
    return side, side


def sweep_one(name: str, fmt: str, folder: str | Path, *, num_classes: int = 10) -> SweepRow:
    """Export `name` in format `fmt` into `folder` and verify it; never raises ExportError."""
    model = create_model(name, num_classes=num_classes)
    size = smallest_input(model)
    shape = (model.in_channels, *size)
    path = Path(folder) / f"{name}{SUFFIX[fmt]}"
    start = time.perf_counter()
    error, diff, scale = None, None, None
    try:
        result = export_model(model, path, format=fmt, input_size=shape)
        diff, scale = result.max_abs_diff, result.max_abs_output
    except ExportError as exc:
        error = root_cause(exc)
    finally:
        for file in Path(folder).glob(f"{name}{SUFFIX[fmt]}*"):  # the file and any .data
            file.unlink()
    return SweepRow(
        model=name,
        family=model_card(name).family,
        format=fmt,
        input_shape=shape,
        ok=error is None,
        max_abs_diff=diff,
        max_abs_output=scale,
        error=error,
        seconds=time.perf_counter() - start,
    )


def sweep(names: Iterable[str], formats: Sequence[str] = FORMATS) -> Iterator[SweepRow]:
    folder = Path(tempfile.mkdtemp(prefix="convzoo-export-"))
    try:
        for name in names:
            for fmt in formats:
                yield sweep_one(name, fmt, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def root_cause(exc: BaseException) -> str:
    """`ExportError`'s message, with the innermost cause's first line when it adds detail."""
    inner = exc
    while inner.__cause__ is not None:
        inner = inner.__cause__
    message = str(exc)
    if inner is not exc:
        line = (str(inner).strip().splitlines() or [""])[0][:300]
        detail = f"{type(inner).__name__}: {line}"
        if detail not in message:
            message = f"{message} [root cause: {detail}]"
    return message


def markdown(rows: Sequence[SweepRow]) -> str:
    """One line per model: input, then per format "ok max-abs-diff (of max |logit|)" or why not."""
    formats = sorted({r.format for r in rows}, key=FORMATS.index)
    by_model: dict[str, dict[str, SweepRow]] = {}
    for row in rows:
        by_model.setdefault(row.model, {})[row.format] = row
    lines = [
        "| model | family | input | " + " | ".join(formats) + " |",
        "|---|---|---|" + "---|" * len(formats),
    ]
    for name, cells in by_model.items():
        first = next(iter(cells.values()))
        c, h, w = first.input_shape
        entries = []
        for fmt in formats:
            row = cells.get(fmt)
            if row is None:
                entries.append("-")
            elif row.ok:
                entries.append(f"ok {row.max_abs_diff:.1e} (of {row.max_abs_output:.1e})")
            else:
                entries.append(f"**fails**: {row.error}".replace("|", "\\|"))
        lines.append(f"| {name} | {first.family} | {c}x{h}x{w} | " + " | ".join(entries) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m convzoo.export.sweep", description=__doc__)
    parser.add_argument("patterns", nargs="*", default=["*"], help="names or globs (default: all)")
    parser.add_argument("--format", choices=FORMATS, action="append", help="default: both")
    parser.add_argument("--jsonl", type=Path, help="append each row to this JSON-lines file")
    parser.add_argument(
        "--table", type=Path, nargs="+", metavar="JSONL", help="only print the table of saved rows"
    )
    args = parser.parse_args(argv)
    if args.table:
        saved: dict[tuple[str, str], SweepRow] = {}
        for file in args.table:
            for line in file.read_text().splitlines():
                data = json.loads(line)
                row = SweepRow(**{**data, "input_shape": tuple(data["input_shape"])})
                saved[row.model, row.format] = row  # a later run of the same export wins
        print(markdown(sorted(saved.values(), key=lambda r: (r.family, r.model))))
        return 0
    names = sorted({name for pattern in args.patterns for name in list_models(pattern)})
    rows = []
    for row in sweep(names, args.format or FORMATS):
        status = f"ok {row.max_abs_diff:.1e}" if row.ok else f"FAILS {row.error}"
        print(f"{row.model:24s} {row.format:12s} {row.seconds:6.1f}s  {status}", file=sys.stderr)
        if args.jsonl:
            with args.jsonl.open("a") as handle:
                handle.write(json.dumps(asdict(row)) + "\n")
        rows.append(row)
    print(markdown(rows))
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
