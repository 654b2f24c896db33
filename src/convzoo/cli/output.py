"""Printing for people (rich tables) and programs (--json)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

console = Console()


def wide_console(min_width: int = 200) -> Console:
    """The console, or a wider one when output is not a terminal (pipes, files, tests)."""
    if console.is_terminal:
        return console
    return Console(width=max(console.width, min_width))


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def human(n: float | None, unit: str = "") -> str:
    """1234567 -> '1.23M'."""
    if n is None:
        return "-"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{suffix}{unit}"
    return f"{n:g}{unit}"
