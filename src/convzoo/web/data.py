"""What the explorer shows: registry rows, per-model details, run directories, reports.

Everything comes from the same library calls the CLI uses. Files are served only from
inside the run directories the explorer was given (see `RunStore.resolve`).
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convzoo.analysis.compare import CompareRow, compare, default_cache_dir
from convzoo.registry import list_models, model_card

# what /files/ may return: pictures, logs and reports, never checkpoints
SERVED_SUFFIXES = {".png", ".svg", ".jpg", ".jpeg", ".json", ".jsonl", ".md", ".csv", ".txt"}
SEARCH_DEPTH = 3  # run directories and reports are looked for this deep under a given folder


def json_safe(value: Any) -> Any:
    """Non-finite floats become None (JSON has no inf/nan); tuples become lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


@functools.cache
def registry_rows(cache_dir: str | None) -> tuple[CompareRow, ...]:
    """One `compare` row per registered model (cached on disk like `convzoo compare`)."""
    return tuple(compare(list_models(), cache_dir=cache_dir))


def default_cache() -> str:
    return str(default_cache_dir())


@functools.lru_cache(maxsize=32)
def model_details(name: str) -> dict[str, Any]:
    """Card and per-layer summary of one model, as `convzoo info NAME --json` gives them."""
    from convzoo.analysis.summary import summary

    card = model_card(name)
    result = summary(name)
    return {"card": json_safe(card.as_dict()), "summary": json_safe(result.as_dict())}


@functools.lru_cache(maxsize=32)
def model_diagram(name: str) -> str:
    """The architecture diagram as SVG text (built-in layout, no Graphviz)."""
    from convzoo.analysis.diagram import block_graph
    from convzoo.analysis.drawing import to_svg

    model_card(name)  # unknown names raise with "did you mean"
    return to_svg(block_graph(name))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "root"


@dataclass(frozen=True)
class Run:
    id: str
    root: str  # id of the folder it was found under
    rel: str  # path inside that folder ("" for the folder itself)
    path: Path

    def read_json(self, name: str) -> dict[str, Any]:
        try:
            return json.loads((self.path / name).read_text())
        except (OSError, ValueError):
            return {}

    def metrics(self) -> list[dict[str, Any]]:
        try:
            lines = (self.path / "metrics.jsonl").read_text().splitlines()
        except OSError:
            return []
        records = []
        for line in lines:
            try:
                records.append(json.loads(line))
            except ValueError:
                continue  # a line cut short by an interrupted run
        return records

    def pictures(self) -> list[str]:
        """curves.png first, then the confusion matrices."""
        names = ["curves.png"] if (self.path / "curves.png").is_file() else []
        return names + sorted(p.name for p in self.path.glob("confusion-*.png"))

    def checkpoint(self) -> Path | None:
        for name in ("best.pt", "last.pt"):
            if (self.path / name).is_file():
                return self.path / name
        return None

    def as_dict(self) -> dict[str, Any]:
        return json_safe(
            {
                "id": self.id,
                "config": self.read_json("config.json"),
                "summary": self.read_json("summary.json"),
                "metrics": self.metrics(),
                "pictures": self.pictures(),
                "has_checkpoint": self.checkpoint() is not None,
            }
        )


@dataclass(frozen=True)
class Report:
    id: str
    root: str
    rel: str  # of the report file inside its root
    path: Path


def _walk(root: Path, depth: int) -> list[Path]:
    """Directories under ``root`` down to ``depth`` levels, without following symlinks."""
    found, level = [root], [root]
    for _ in range(depth):
        level = [
            child
            for folder in level
            for child in sorted(folder.iterdir())
            if child.is_dir() and not child.is_symlink()
        ]
        found += level
    return found


class RunStore:
    """The run directories given on the command line and everything found inside them."""

    def __init__(self, folders: list[str | Path]) -> None:
        self.roots: dict[str, Path] = {}
        for folder in folders:
            path = Path(folder).expanduser()
            if not path.is_dir():
                raise FileNotFoundError(f"run directory {folder}: not a directory")
            key, n = _slug(path.resolve().name), 1
            while key in self.roots:
                n += 1
                key = f"{_slug(path.resolve().name)}-{n}"
            self.roots[key] = path.resolve()
        self.runs: dict[str, Run] = {}
        self.reports: dict[str, Report] = {}
        for key, root in self.roots.items():
            for folder in _walk(root, SEARCH_DEPTH):
                rel = folder.relative_to(root).as_posix()
                rel = "" if rel == "." else rel
                ident = _slug(f"{key}-{rel}" if rel else key)
                if (folder / "config.json").is_file():
                    self.runs[ident] = Run(ident, key, rel, folder)
                if (folder / "report.md").is_file():
                    report_rel = f"{rel}/report.md" if rel else "report.md"
                    self.reports[ident] = Report(ident, key, report_rel, folder / "report.md")

    def resolve(self, root: str, rel: str) -> Path | None:
        """The file ``rel`` inside the folder ``root``, or None when it is not one to serve:
        unknown folder, absolute path, ``..``, a symlink leading outside, a checkpoint."""
        base = self.roots.get(root)
        parts = Path(rel).parts
        if base is None or not rel or Path(rel).is_absolute() or ".." in parts or "\\" in rel:
            return None
        path = (base / rel).resolve()
        if not path.is_relative_to(base) or not path.is_file():
            return None
        return path if path.suffix.lower() in SERVED_SUFFIXES else None
