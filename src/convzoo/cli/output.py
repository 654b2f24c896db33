"""Printing for people (tables that fit the terminal, plain text when piped) and
programs (--json)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

console = Console()
# piped or redirected: never break a line (paths stay whole, grep sees one row per line)
console.soft_wrap = not console.is_terminal


def show_table(table: Table, *, drop: Sequence[str] = (), out: Console | None = None) -> None:
    """Print ``table`` for a person.

    In a terminal the table fits its width: the columns named in ``drop`` are left
    out, in that order, until it does (a dim line says which; --csv/--json have them
    all). Cells never lose characters to an ellipsis unless their column says so
    (``no_wrap`` with the default overflow); a ``no_wrap`` column with
    ``overflow="fold"`` holds what one copies (names) and is kept whole.
    Piped or redirected, it prints as plain text: every column, aligned with
    spaces, one row per line, no box drawing.
    """
    out = out or console
    if table.title:
        out.print(f"[bold]{table.title}[/bold]")
        table.title = None
    if not out.is_terminal:
        print(plain_text(table), end="")
        return
    # no frame: more room for the cells
    table.box = box.SIMPLE_HEAD
    table.show_edge = False
    for column in table.columns:
        if column.no_wrap and column.overflow != "ellipsis":  # to copy: whole, on one line
            column.min_width = max((len(_plain(c)) for c in column._cells), default=0)
        elif column.overflow == "ellipsis" and not column.no_wrap:
            column.overflow = "fold"
    left_out = []
    for name in drop:
        if _width(out, table) <= out.width:
            break
        index = next((i for i, c in enumerate(table.columns) if c.header == name), None)
        if index is not None:
            del table.columns[index]
            left_out.append(name)
    excess = _width(out, table) - out.width
    for column in table.columns:  # shorten what may be shortened (a title), with an ellipsis
        if excess > 0 and column.no_wrap and column.overflow == "ellipsis":
            longest = max((len(_plain(c)) for c in column._cells), default=0)
            column.max_width = max(8, longest - excess)
            excess -= longest - column.max_width
    out.print(table)
    if left_out:
        out.print(f"[dim]left out for width: {', '.join(left_out)} (see --csv or --json)[/dim]")


def _width(out: Console, table: Table) -> int:
    """Width of the table with every cell on one line (cells, one space of padding
    each side, one separator between columns)."""
    widths = [
        max([len(_plain(c.header)), *(len(_plain(x)) for x in c._cells)]) for c in table.columns
    ]
    return sum(widths) + 3 * len(widths) - 1


def plain_text(table: Table) -> str:
    """The table as aligned plain text (header, then one line per row)."""
    columns = table.columns
    cells = [[_plain(c.header) for c in columns]]
    cells += [[_plain(col._cells[i]) for col in columns] for i in range(table.row_count)]
    widths = [max(len(row[j]) for row in cells) for j in range(len(columns))]
    lines = []
    for row in cells:
        parts = [
            cell.rjust(w) if col.justify == "right" else cell.ljust(w)
            for cell, w, col in zip(row, widths, columns, strict=True)
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines) + "\n"


def _plain(cell: Any) -> str:
    if isinstance(cell, Text):
        return cell.plain
    return Text.from_markup(cell).plain if isinstance(cell, str) else str(cell)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))
