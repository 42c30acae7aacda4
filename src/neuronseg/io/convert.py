"""`neuronseg convert`: any supported movie → a Zarr store chunked for neuronseg's time-chunked reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neuronseg.io.movies import default_chunk_frames, open_movie
from neuronseg.io.outputs import atomic_output_dir, output_marker
from neuronseg.progress import progress_bar


def convert_to_zarr(source, out, dataset: str | None = None, chunk_frames: int | None = None,
                    overwrite: bool = False) -> dict:
    """Copy the movie at ``source`` into ``out`` (a Zarr v3 store holding one array ``movie``).

    Chunks span whole frames and ``chunk_frames`` frames (default: about 64 MB), the shape
    every stage of `segment` reads; each chunk is compressed (Zstd via Zarr's default codec)
    and written once, so memory stays at one chunk whatever the movie's size. The copy is
    written to a temporary folder and renamed, so a failed conversion leaves nothing.
    """
    import zarr

    with open_movie(source, dataset) as movie:
        t, h, w = movie.shape
        step = chunk_frames or default_chunk_frames(movie.frame_shape, movie.dtype)
        with atomic_output_dir(out, overwrite, mark=False) as tmp:
            group = zarr.open_group(str(tmp), mode="w")
            array = group.create_array("movie", shape=(t, h, w), chunks=(step, h, w), dtype=movie.dtype)
            with progress_bar(t, f"→ {Path(out).name}") as update:
                for t0, frames in movie.chunks(step):
                    array[t0 : t0 + len(frames)] = np.asarray(frames)
                    update(len(frames))
            group.attrs.update({"source": str(source), "axes": "TYX", "written_by": "neuronseg convert"})
            group.attrs["neuronseg"] = output_marker(tmp, "Zarr store")   # what --overwrite may replace
        return {"frames": t, "shape": [h, w], "dtype": str(movie.dtype), "chunk_frames": step}
