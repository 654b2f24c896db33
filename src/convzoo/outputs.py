"""One behaviour for every file convzoo writes (exports, plots, diagrams, eval reports).

Missing parent folders are created, as ``train --out`` does for its run
directory; a folder that cannot be created (a file in the way, a read-only or
full disk, no permission) is one `OutputError` line naming the path and the
reason. Overwriting an existing file is the caller's choice (``export`` asks for
``--force``; regenerated figures are simply replaced).
"""

from __future__ import annotations

from pathlib import Path

from convzoo.errors import OutputError, describe_os_error

__all__ = ["prepare_output", "prepare_output_dir"]


def prepare_output_dir(folder: str | Path, what: str = "output folder") -> Path:
    """Create `folder` (and its parents) if missing; `OutputError` when that is impossible."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"cannot use {what} {folder}: it is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {what} {folder}: {describe_os_error(exc)}") from None
    return folder


def prepare_output(path: str | Path, *, what: str = "file", overwrite: bool = True) -> Path:
    """Make `path` ready to be written: parents created, an existing file only if `overwrite`."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {what} {path}: it is a folder, give a file name")
    if path.exists() and not overwrite:
        raise OutputError(f"{what} {path} already exists; pass --force to replace it")
    prepare_output_dir(path.parent, f"the folder for {what} {path.name},")
    return path
