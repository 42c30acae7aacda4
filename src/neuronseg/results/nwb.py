"""A segmentation as an NWB file (the ``ophys`` module of :func:`neuronseg.io.nwb.write_nwb`)."""

from __future__ import annotations

from neuronseg.io.nwb import write_nwb
from neuronseg.io.outputs import atomic_output_file


def write_nwb_file(path, seg, source, overwrite: bool = False) -> None:
    """``seg`` with its ΔF/F as a new NWB file ``path``, written to a hidden temporary file
    renamed into place on success."""
    with atomic_output_file(path, overwrite) as tmp:
        write_nwb(tmp, seg, source, seg.fs, dff=seg.dff)
