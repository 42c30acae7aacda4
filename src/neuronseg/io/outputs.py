"""Writing results atomically: into a hidden temporary folder or file, renamed into place at the end.

A run that fails leaves nothing behind, and an existing result is replaced only when the
user said ``--overwrite`` *and* neuronseg wrote it: every folder neuronseg writes holds a
marker, ``.neuronseg.json``, listing the files it wrote, and ``--overwrite`` replaces a folder
only when it holds nothing else (so a mistyped ``-o ~/experiments`` loses nothing). A
symbolic link given as the output is replaced itself, never the folder it points to.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import unicodedata
from contextlib import contextmanager
from pathlib import Path

from neuronseg.errors import NeuronsegError

MARKER = ".neuronseg.json"   #: in every folder neuronseg writes: what it is and the files it holds


def output_marker(folder, what: str) -> dict:
    """What a marker says: written by neuronseg, ``what`` the folder is, and every file now in it."""
    from neuronseg import __version__

    folder = Path(folder)
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                   if (p.is_file() or p.is_symlink()) and p.name != MARKER)
    return {"written_by": "neuronseg", "version": __version__, "what": what, "files": files}


def mark_output(folder, what: str) -> None:
    """Write ``folder``'s marker file (:func:`output_marker`)."""
    (Path(folder) / MARKER).write_text(json.dumps(output_marker(folder, what), indent=1))


def read_marker(folder) -> dict | None:
    """The marker of a folder neuronseg wrote, or None. A Zarr store keeps it among its own
    attributes (``neuronseg``), since Zarr readers warn about files they do not know."""
    folder = Path(folder)
    try:
        if (folder / MARKER).exists():
            marker = json.loads((folder / MARKER).read_text())
        else:
            marker = json.loads((folder / "zarr.json").read_text()).get("attributes", {}).get("neuronseg")
    except (OSError, ValueError, AttributeError):
        return None
    return marker if isinstance(marker, dict) and marker.get("written_by") == "neuronseg" else None


def foreign_files(folder) -> list[str]:
    """The files in ``folder`` that neuronseg did not write (all of them without a marker)."""
    folder = Path(folder)
    marker = read_marker(folder)
    listed = set(marker.get("files") or ()) if marker else set()
    present = [str(p.relative_to(folder)) for p in folder.rglob("*")
               if (p.is_file() or p.is_symlink()) and p.name != MARKER]
    return sorted(f for f in present if marker is None or f not in listed) if present or marker else []


def _written_by_neuronseg(path: Path) -> bool:
    """A file neuronseg wrote: listed in its folder's marker, or an NWB file whose
    ``source_script`` names neuronseg (an NWB file travels without its folder)."""
    marker = read_marker(path.parent)
    if marker and path.name in (marker.get("files") or ()):
        return True
    if path.suffix.lower() == ".nwb":
        import h5py

        try:
            with h5py.File(path, "r") as f:
                script = f["general/source_script"][()] if "general/source_script" in f else b""
        except (OSError, KeyError):
            return False
        return (script.decode() if isinstance(script, bytes) else str(script)).startswith("neuronseg")
    return False


def check_replaceable(out: Path, is_file: bool = False) -> None:
    """Refuse to replace ``out`` unless neuronseg wrote it (a link is always replaceable: the
    link goes, never what it points to)."""
    if out.is_symlink():
        return
    if is_file:
        if not _written_by_neuronseg(out):
            raise NeuronsegError(f"{out} is not a file neuronseg wrote; --overwrite replaces only neuronseg's own "
                                 "outputs: choose another file name")
        return
    foreign = foreign_files(out)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise NeuronsegError(f"{out} holds files neuronseg did not write ({shown}); --overwrite replaces only "
                             "neuronseg's own outputs: choose another output folder")


def check_writable(out, overwrite: bool = False, is_file: bool = False) -> Path:
    """Fail early, before any work, when ``out`` (a folder, or with ``is_file`` a file) exists
    and may not be replaced (no ``overwrite``, or neuronseg did not write it), or cannot be
    written at all (its nearest existing parent is a file or not writable)."""
    out = Path(out)
    exists = out.exists() or out.is_symlink()
    if exists and not overwrite:
        raise NeuronsegError(f"{out} already exists; choose another {'file' if is_file else 'output'} "
                             "or pass --overwrite")
    if out.exists() and not out.is_symlink() and out.is_dir() == is_file:
        raise NeuronsegError(f"{out} exists and is not a {'file' if is_file else 'folder'}")
    if exists:
        check_replaceable(out, is_file)
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
def atomic_output_dir(out, overwrite: bool = False, what: str = "result", mark: bool = True):
    """Yield a temporary folder beside ``out``; on success it is marked as neuronseg's
    (:func:`mark_output`, ``what`` it holds; ``mark=False`` for writers that keep the marker
    themselves) and becomes ``out``.

    On any exception the temporary folder is removed and ``out`` is left as it was. An
    existing ``out`` (with ``overwrite``, and written by neuronseg) is removed only after the
    new folder is complete; a link at ``out`` is replaced, never the folder behind it.
    """
    out = Path(os.path.abspath(check_writable(out, overwrite)))   # abspath: a link stays a link
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
        if mark:
            mark_output(tmp, what)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.is_symlink():
        out.unlink()
    elif out.exists():
        check_replaceable(out)   # again: a file may have arrived while this ran
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


def plain_name(name, what: str) -> str:
    """``name`` when it can name a file or folder inside an output folder, else one message
    about ``what`` it names: a name from a manifest or another file must not reach outside
    the folder (no path separators, not ``.`` or ``..``, not absolute), nor hide among
    neuronseg's own temporary and marker files (no leading dot), nor hold control characters."""
    text = str(name)
    if (not text.strip() or "/" in text or "\\" in text or text.startswith(".")
            or any(unicodedata.category(c).startswith("C") for c in text)):
        raise NeuronsegError(f"{what} {text!r} is not a plain name (no path separators, no leading dot, "
                             "no control characters)")
    return text


def claim_folder(out, overwrite: bool = False, resume: bool = False) -> Path:
    """Check, before any work, a folder that will be written in place over a long run (a
    model in training, its checkpoint kept for ``--resume``): refused when it exists, unless
    ``resume`` or ``overwrite`` and neuronseg wrote it. A link there is removed at once with
    ``overwrite`` (it holds no data; the folder behind it is never written). The writer
    creates the folder and marks it (:func:`mark_output`) after each file it adds."""
    out = Path(out)
    if out.exists() or out.is_symlink():
        if not (resume or overwrite):
            raise NeuronsegError(f"{out} already exists; pass --resume to continue or --overwrite to start again")
        if out.is_symlink() and overwrite and not resume:
            out.unlink()
        elif out.is_dir():
            check_replaceable(out)
        else:
            raise NeuronsegError(f"{out} exists and is not a folder")
    check_writable(out, overwrite=True)   # its parent can be written in
    return out
