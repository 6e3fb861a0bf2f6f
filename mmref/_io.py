"""Crash-safe file output: write a temporary file beside the destination, then rename.

A file that mmref writes either appears complete at its destination or not at
all: the bytes go to a temporary file in the destination's directory (the same
file system, so the rename is atomic), which is flushed and fsynced and only
then moved into place with ``os.replace``. On any exception, including
``KeyboardInterrupt``, the temporary file is removed and an earlier file at
the destination is left untouched. A process killed outright (SIGKILL, power
loss) cannot clean up: it leaves a ``.<name>.*.mmref-tmp`` file beside the
destination, never a partial destination.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_output", "fsync_directory"]


@contextlib.contextmanager
def atomic_output(destination: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open a temporary binary file that replaces ``destination`` when the block succeeds.

    Parameters
    ----------
    destination : str or path-like
        The final path. Its directory must exist.

    Yields
    ------
    file : binary file object
        Write the whole content to it; do not close it.
    """
    import tempfile  # with its imports (random, shutil) it is too slow for `import mmref`

    dest = Path(destination)
    directory = dest.parent if str(dest.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"the output directory {str(directory)!r} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".mmref-tmp", dir=directory)
    try:
        # mkstemp creates the file 0600; the result should get the usual mode (0644 under
        # umask 022), as a file opened with open(path, "wb") would.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    fsync_directory(directory)


def _umask() -> int:
    # os.umask can only be read by setting it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def fsync_directory(directory: str | os.PathLike[str]) -> None:
    """Persist a rename by fsyncing its directory (a no-op where that is unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems (and Windows) do not fsync directories
        pass
    finally:
        os.close(fd)
