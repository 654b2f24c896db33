"""The run directory: one run per folder, never two mixed, and clear errors when it cannot be made.

A new run (no ``--resume``) starts in a folder that does not exist or is empty.
A folder that holds an earlier run is refused unless ``--force`` is given, and
then the earlier run's files are removed first, so no eval-*.json or confusion
plot of the old run stays next to the new one. A folder holding files that no
run writes is refused even with ``--force``: convzoo deletes only what it wrote.
"""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path

from convzoo.train.distributed import Dist

__all__ = ["RunDirectoryError", "claim_run_dir", "prepare_run_dir"]

# everything a run (train, eval, lr-find) writes into its folder; tensorboard is a folder
RUN_FILES = (
    "config.json", "metrics.jsonl", "last.pt", "best.pt", "curves.png", "summary.json",
    "tensorboard", "eval-*.json", "confusion-*.png", "lr-find.png", "lr-find.json", ".*.tmp",
)  # fmt: skip


class RunDirectoryError(ValueError):
    """The run directory cannot be used (occupied, not a folder, not writable)."""


def is_run_file(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in RUN_FILES)


def run_dir_problem(path: Path, *, resuming: bool, force: bool) -> str | None:
    """Why `path` cannot hold a new run (None when it can); reads only."""
    if resuming:
        return None
    if path.exists() and not path.is_dir():
        return f"--out {path} is an existing file, not a folder; choose another --out"
    if not path.is_dir():
        return None
    entries = sorted(p.name for p in path.iterdir())
    if not entries:
        return None
    foreign = [name for name in entries if not is_run_file(name)]
    if foreign:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        return (
            f"--out {path} is not empty and holds files no run writes ({shown}); "
            "choose a new folder name for --out"
        )
    if force:
        return None
    return (
        f"--out {path} already holds a run; continue it with `convzoo train --resume {path}`, "
        "replace it with --force, or choose a new folder name for --out"
    )


def prepare_run_dir(path: Path, *, resuming: bool, force: bool) -> None:
    """Refuse an occupied folder, clear an earlier run with `force`, create the folder.

    Raises `RunDirectoryError` with one line for every failure, OSErrors included.
    """
    problem = run_dir_problem(path, resuming=resuming, force=force)
    if problem:
        raise RunDirectoryError(problem)
    try:
        if not resuming and path.is_dir():
            for entry in path.iterdir():  # only run files remain here (checked above)
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test.tmp"  # a read-only folder that exists fails here, not later
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise RunDirectoryError(f"cannot write the run directory {path}: {reason}") from exc


def claim_run_dir(path: Path, dist: Dist, *, resuming: bool, force: bool) -> Path:
    """Rank 0 prepares its folder; every rank gets that folder, or the same error."""
    problem = None
    if dist.is_main:
        try:
            prepare_run_dir(path, resuming=resuming, force=force)
        except RunDirectoryError as exc:
            problem = str(exc)
    if dist.enabled:  # every rank writes to the directory rank 0 chose
        folder, problem = dist.gather((str(path), problem))[0]
        path = Path(folder)
    if problem:
        raise RunDirectoryError(problem)
    return path
