"""convzoo's own exceptions: one line a user can act on, never a traceback.

Every class also derives from the built-in exception a caller would expect
(`ValueError` for bad input, `OSError` for a file that cannot be written), so
``except ValueError`` keeps working; the command line prints any `ConvzooError`
as ``convzoo VERB: error: MESSAGE`` with exit code 2.
"""

from __future__ import annotations

import difflib
import errno
from collections.abc import Iterable

__all__ = [
    "BadImagesError",
    "CheckpointError",
    "ConvzooError",
    "ConvzooWarning",
    "OutputError",
    "describe_os_error",
    "did_you_mean",
]


class ConvzooError(Exception):
    """Base of the errors convzoo raises on purpose; the message is meant for the user."""


class CheckpointError(ConvzooError, ValueError):
    """A file that cannot be used as a convzoo checkpoint (and why)."""


class BadImagesError(ConvzooError, ValueError):
    """Image files of a dataset that cannot be decoded."""


class ConvzooWarning(UserWarning):
    """Something that makes a result doubtful (NaN inputs, huge images); the CLI prints one line."""


class OutputError(ConvzooError, OSError):
    """A file convzoo was asked to write could not be written; nothing half-written was left."""


# errno -> what it means for a file we were writing, in plain words
_REASONS = {
    errno.EACCES: "permission denied (the folder is not writable)",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.ENOTDIR: "a file is in the way where a folder is needed",
    errno.EEXIST: "a file is in the way where a folder is needed",
    errno.EISDIR: "it is a folder, not a file",
    errno.ENAMETOOLONG: "the file name is too long",
}


def describe_os_error(exc: BaseException) -> str:
    """A short reason for a failed write: the errno in words, else the error's own text."""
    code = getattr(exc, "errno", None)
    if code in _REASONS:
        return _REASONS[code]
    text = str(exc)
    if "No space left" in text:  # an errno lost on the way, its text kept
        return _REASONS[errno.ENOSPC]
    return text.splitlines()[0] if text else type(exc).__name__


def did_you_mean(name: str, known: Iterable[str], *, n: int = 3, cutoff: float = 0.6) -> str:
    """``"; did you mean 'a', 'b'?"`` with the `n` names of `known` closest to `name`
    (difflib's ratio >= `cutoff`), or ``""`` when none is close: the tail of an
    "unknown name" error."""
    close = difflib.get_close_matches(name, list(known), n=n, cutoff=cutoff)
    return f"; did you mean {', '.join(map(repr, close))}?" if close else ""
