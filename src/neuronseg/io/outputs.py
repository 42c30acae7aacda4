"""Writing results atomically: into a hidden temporary folder or file, renamed into place at the end.

A run that fails leaves nothing behind, and an existing result is replaced only when the
user said ``--overwrite``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from neuronseg.errors import NeuronsegError


def check_writable(out, overwrite: bool = False, is_file: bool = False) -> Path:
    """Fail early, before any work, when ``out`` (a folder, or with ``is_file`` a file) exists
    and may not be replaced, or cannot be written at all (its nearest existing parent is a
    file or not writable)."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise NeuronsegError(f"{out} already exists; choose another {'file' if is_file else 'output'} "
                             "or pass --overwrite")
    if out.exists() and out.is_dir() == is_file:
        raise NeuronsegError(f"{out} exists and is not a {'file' if is_file else 'folder'}")
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise NeuronsegError(f"cannot write {out}: {parent} is not a folder this user may write in")
    return out


def make_folder(folder: Path, out) -> None:
    """``folder`` created with its parents, or one message about ``out`` when that fails in a
    way :func:`check_writable` could not foresee (a read-only mount, a full disk)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NeuronsegError(f"cannot write {out}: {exc.strerror or exc}") from None


@contextmanager
def atomic_output_dir(out, overwrite: bool = False):
    """Yield a temporary folder beside ``out``; on success it becomes ``out``.

    On any exception the temporary folder is removed and ``out`` is left as it was.
    """
    out = check_writable(out, overwrite).resolve()
    make_folder(out.parent, out)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    except OSError as exc:
        raise NeuronsegError(f"cannot write {out}: {exc.strerror or exc}") from None
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private (0700); a result folder should not be
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_output_file(path, overwrite: bool = False):
    """Yield a hidden temporary path beside ``path`` (same suffix, so writers that check it
    are content); on success it replaces ``path``, on any exception it is removed."""
    path = check_writable(path, overwrite, is_file=True)
    make_folder(path.parent, path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
