"""Numbers as people read them, shared by the command line and the web pages."""

from __future__ import annotations

__all__ = ["human"]


def human(n: float | None, unit: str = "") -> str:
    """1234567 -> '1.23M'."""
    if n is None:
        return "-"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{suffix}{unit}"
    return f"{n:g}{unit}"
