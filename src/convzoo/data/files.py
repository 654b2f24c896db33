"""Finding dataset files on disk, or downloading them with checksum verification.

Files are looked for, in this order, in

1. ``--data-dir`` (the ``data_dir`` argument),
2. ``$CONVZOO_DATA``,
3. the user cache, ``$XDG_CACHE_HOME/convzoo`` (default ``~/.cache/convzoo``),
4. the system folders where Debian's ``dataset-*`` packages install data
   (``/usr/share/datasets/<name>``, e.g. ``apt install dataset-fashion-mnist``).

Inside each root a dataset may sit in its own folder (``fashion-mnist/``), in
torchvision's layout (``FashionMNIST/raw/``) or directly in the root. When no
copy is found the files are downloaded into the first writable root
(``--data-dir``, else ``$CONVZOO_DATA``, else the user cache) and each download
must match its published MD5 before it is moved into place.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from convzoo.errors import ConvzooError

__all__ = [
    "SYSTEM_DIRS",
    "CorruptFileError",
    "Resource",
    "download",
    "download_root",
    "find_files",
    "md5sum",
    "search_roots",
]

SYSTEM_DIRS: tuple[Path, ...] = (Path("/usr/share/datasets"),)


class CorruptFileError(ConvzooError, ValueError):
    """A dataset file exists but is damaged (truncated, wrong checksum, bad header)."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        super().__init__(
            f"dataset file {self.path} is corrupt: {problem}. "
            "Delete it and run again to download a fresh copy."
        )


@dataclass(frozen=True)
class Resource:
    """One published file: its name, where it can be downloaded, its MD5 as published."""

    filename: str
    urls: tuple[str, ...]
    md5: str | None


def user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "convzoo"


def search_roots(data_dir: str | Path | None = None) -> list[Path]:
    """Roots in lookup order: --data-dir, $CONVZOO_DATA, user cache, system folders."""
    roots = []
    if data_dir:
        roots.append(Path(data_dir).expanduser())
    if os.environ.get("CONVZOO_DATA"):
        roots.append(Path(os.environ["CONVZOO_DATA"]).expanduser())
    roots.append(user_cache())
    roots.extend(SYSTEM_DIRS)
    return roots


def download_root(data_dir: str | Path | None = None) -> Path:
    """Where downloads go: the first of --data-dir, $CONVZOO_DATA, the user cache."""
    return search_roots(data_dir)[0]


def md5sum(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def candidate_dirs(roots: Sequence[Path], folders: Sequence[str]) -> list[Path]:
    """Every folder a dataset may live in, in lookup order."""
    return [root / folder if folder else root for root in roots for folder in (*folders, "")]


def find_files(
    dataset: str,
    resources: Sequence[Resource],
    *,
    folders: Sequence[str],
    data_dir: str | Path | None = None,
    download_missing: bool = True,
    debian_package: str | None = None,
) -> dict[str, Path]:
    """Paths of all `resources` (filename -> path), found together in one folder.

    Searches the roots (see module docstring); downloads what is missing when
    none holds a complete copy. Raises FileNotFoundError saying where the files
    can come from when they are neither on disk nor downloadable.
    """
    names = [r.filename for r in resources]
    roots = search_roots(data_dir)
    for folder in candidate_dirs(roots, folders):
        if all((folder / name).is_file() for name in names):
            return {name: folder / name for name in names}
    target = download_root(data_dir) / folders[0]
    problems: list[str] = []
    if download_missing:
        try:
            return {r.filename: download(r, target) for r in resources}
        except OSError as exc:
            problems.append(str(exc))
    searched = "\n  ".join(str(d) for d in candidate_dirs(roots, folders[:1]))
    urls = "\n  ".join(f"{r.filename}: {' or '.join(r.urls)}" for r in resources)
    hint = (
        f"\nOn Debian/Ubuntu: `sudo apt install {debian_package}` installs them "
        f"in /usr/share/datasets/."
        if debian_package
        else ""
    )
    reason = f"\nDownload failed: {problems[0]}" if problems else "\n(downloads disabled)"
    raise FileNotFoundError(
        f"{dataset}: files {', '.join(names)} not found. Looked in:\n  {searched}\n"
        f"(and torchvision-style subfolders). They can be downloaded from:\n  {urls}\n"
        f"Put them in one of those folders, or point --data-dir / $CONVZOO_DATA at a copy."
        f"{hint}{reason}"
    )


def download(resource: Resource, folder: Path, *, timeout: float = 30.0) -> Path:
    """Fetch `resource` into `folder`, verify its MD5, move it into place atomically.

    Tries each URL in turn; raises OSError naming every URL tried and why it failed.
    An existing file with the right checksum is kept as it is.
    """
    path = folder / resource.filename
    if path.is_file() and (resource.md5 is None or md5sum(path) == resource.md5):
        return path
    folder.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in resource.urls:
        fd, tmp = tempfile.mkstemp(prefix=f".{resource.filename}.", suffix=".part", dir=folder)
        try:
            digest = hashlib.md5(usedforsecurity=False)
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                while block := resp.read(1 << 20):
                    digest.update(block)
                    out.write(block)
            if resource.md5 is not None and digest.hexdigest() != resource.md5:
                raise OSError(
                    f"checksum mismatch (MD5 {digest.hexdigest()}, expected {resource.md5})"
                )
            os.replace(tmp, path)
            return path
        except (OSError, urllib.error.URLError, ValueError) as exc:
            Path(tmp).unlink(missing_ok=True)
            failures.append(f"{url}: {getattr(exc, 'reason', exc)}")
    raise OSError("could not download " + resource.filename + " (" + "; ".join(failures) + ")")
