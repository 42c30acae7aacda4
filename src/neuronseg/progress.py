"""Progress display: a bar on a terminal, nothing when quiet or when output is not a TTY."""

from __future__ import annotations

import sys
from contextlib import contextmanager

from tqdm import tqdm

#: Set by the CLI from ``--quiet``; the library itself never prints unless asked.
QUIET = False


def enabled() -> bool:
    return not QUIET and sys.stderr.isatty()


@contextmanager
def progress_bar(total: int, desc: str, unit: str = "frame"):
    """Context manager yielding ``update(n)``; a no-op callable when progress is off."""
    if not enabled():
        yield lambda n=1: None
        return
    with tqdm(total=total, desc=desc, unit=unit, leave=False, file=sys.stderr) as bar:
        yield bar.update
