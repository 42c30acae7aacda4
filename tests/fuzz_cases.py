"""Mutated input files for every reader, and the command that reads each (tests/test_fuzz_readers.py).

Seed files are small real-format files (a simulated movie as TIFF, HDF5, NWB, Zarr and
.npy; a regions.json, an ImageJ zip, a Suite2p plane folder, a CaImAn results file). Each
mutation is drawn from a seeded generator, so a failing case is the same on every run:
truncation, flipped bytes, a zeroed block, garbage appended, an emptied file, and
format-aware ones: wrong dtypes, absurd declared shapes, deep nesting, a zip entry that
expands hugely, inconsistent sizes between files.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import tifffile

HERE = Path(__file__).parent
SUITE2P = HERE / "data" / "suite2p_crop" / "plane0"


def seed_files(folder: Path, movie: np.ndarray) -> dict:
    """One valid file of every format the readers take; returns their paths by kind."""
    import h5py

    from neuronseg.io.rois import write_imagej_zip, write_regions_json
    from neuronseg.roiset import RoiSet

    folder.mkdir(parents=True, exist_ok=True)
    files = {"tiff": folder / "movie.tif", "tiff_zlib": folder / "movie_zlib.tif", "npy": folder / "movie.npy",
             "hdf5": folder / "movie.h5", "nwb": folder / "movie.nwb", "zarr": folder / "movie.zarr"}
    tifffile.imwrite(files["tiff"], movie)
    tifffile.imwrite(files["tiff_zlib"], movie, compression="zlib")
    np.save(files["npy"], movie)
    with h5py.File(files["hdf5"], "w") as f:
        f.create_dataset("mov", data=movie, chunks=(8,) + movie.shape[1:])
    _write_nwb_movie(files["nwb"], movie)
    import zarr

    zarr.open_group(str(files["zarr"]), mode="w").create_array("movie", data=movie, chunks=(8,) + movie.shape[1:])
    labels = np.zeros(movie.shape[1:], np.uint16)
    labels[10:18, 10:18], labels[30:40, 20:28], labels[40:50, 40:52] = 1, 2, 3
    rois = RoiSet.from_labels(labels)
    files["regions"] = folder / "regions.json"
    write_regions_json(rois, files["regions"])
    files["imagej"] = folder / "rois.zip"
    write_imagej_zip(rois, files["imagej"])
    files["labels"] = folder / "labels.tif"
    tifffile.imwrite(files["labels"], labels)
    files["suite2p"] = folder / "plane0"
    shutil.copytree(SUITE2P, files["suite2p"])
    files["caiman"] = folder / "caiman.hdf5"
    _write_caiman(files["caiman"], rois, movie)
    return files


def _write_nwb_movie(path: Path, movie: np.ndarray) -> None:
    from datetime import datetime, timezone

    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ophys import OpticalChannel, TwoPhotonSeries

    nwb = NWBFile(session_description="fuzz seed", identifier="seed", session_start_time=datetime.now(timezone.utc))
    device = nwb.create_device(name="scope")
    plane = nwb.create_imaging_plane(name="plane", optical_channel=OpticalChannel(name="g", description="g",
                                                                                  emission_lambda=510.0),
                                     description="p", device=device, excitation_lambda=920.0, indicator="GCaMP6",
                                     location="V1", imaging_rate=7.0)
    nwb.add_acquisition(TwoPhotonSeries(name="TwoPhotonSeries", data=movie, imaging_plane=plane, rate=7.0,
                                        unit="n.a."))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def _write_caiman(path: Path, rois, movie: np.ndarray) -> None:
    """A CaImAn `cnm.save` layout: estimates/A as CSC parts, pixels in Fortran order of dims."""
    import h5py
    from scipy import sparse

    h, w = rois.shape
    cols = []
    for p in rois.pixels:
        r, c = np.divmod(p, w)
        col = np.zeros(h * w, np.float32)
        col[r + c * h] = 1.0
        cols.append(col)
    A = sparse.csc_matrix(np.stack(cols, axis=1))
    C = np.stack([movie.reshape(len(movie), -1)[:, p].mean(axis=1) for p in rois.pixels]).astype(np.float32)
    with h5py.File(path, "w") as f:
        f["dims"] = np.array([h, w])
        g = f.create_group("estimates")
        a = g.create_group("A")
        a["data"], a["indices"], a["indptr"], a["shape"] = A.data, A.indices, A.indptr, np.array(A.shape)
        g["C"] = C
        g["idx_components"] = np.array([0, 2])


# --- mutations ------------------------------------------------------------------------
def _truncate(data: bytes, rng) -> bytes:
    return data[: int(rng.integers(0, max(1, len(data))))]


def _flip(data: bytes, rng) -> bytes:
    b = bytearray(data)
    for _ in range(int(rng.integers(1, 33))):
        i = int(rng.integers(0, len(b)))
        b[i] ^= int(rng.integers(1, 256))
    return bytes(b)


def _zero_block(data: bytes, rng) -> bytes:
    b = bytearray(data)
    i = int(rng.integers(0, len(b)))
    n = int(rng.integers(1, 4096))
    b[i:i + n] = bytes(len(b[i:i + n]))
    return bytes(b)


def _append(data: bytes, rng) -> bytes:
    return data + rng.integers(0, 256, int(rng.integers(1, 4096)), dtype=np.uint8).tobytes()


def _empty(data: bytes, rng) -> bytes:
    return b""


BYTE_MUTATIONS = {"truncate": _truncate, "flip": _flip, "zero_block": _zero_block, "append": _append,
                  "empty": _empty}


def mutate_bytes(src: Path, dst: Path, kind: str, rng) -> Path:
    dst.write_bytes(BYTE_MUTATIONS[kind](src.read_bytes(), rng))
    return dst


def absurd_npy(dst: Path, rng) -> Path:
    """A .npy whose header declares an absurd shape, a wrong dtype or a wrong rank."""
    choice = int(rng.integers(0, 5))
    header = [
        {"descr": "<u2", "fortran_order": False, "shape": (10**6, 10**5, 10**5)},
        {"descr": "|O", "fortran_order": False, "shape": (4, 16, 16)},
        {"descr": "<c16", "fortran_order": False, "shape": (4, 16, 16)},
        {"descr": "<f4", "fortran_order": False, "shape": (16, 16)},
        {"descr": "<U8", "fortran_order": False, "shape": (4, 16, 16)},
    ][choice]
    with open(dst, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        fh.write(b"\0" * 4096)
    return dst


def absurd_tiff(dst: Path, rng) -> Path:
    """A sparse BigTIFF declaring far more than any machine holds, or a single image."""
    if rng.integers(0, 2):
        m = tifffile.memmap(dst, shape=(int(rng.integers(2, 50)), 30000 + int(rng.integers(0, 30000)), 40000),
                            dtype=np.uint16, bigtiff=True)
        del m
    else:
        tifffile.imwrite(dst, np.ones((32, 32), np.uint16))
    return dst


def absurd_hdf5(dst: Path, rng) -> Path:
    import h5py

    with h5py.File(dst, "w") as f:
        kind = int(rng.integers(0, 3))
        if kind == 0:   # declared, never written: h5py allocates lazily
            f.create_dataset("mov", shape=(1000, 50000, 50000), dtype="uint16", chunks=(1, 256, 256))
        elif kind == 1:
            f.create_dataset("mov", data=np.array([[b"abc"] * 16] * 16), dtype="S3")
        else:
            f.create_dataset("a", data=np.zeros((4, 16, 16)))
            f.create_dataset("b", data=np.zeros((4, 16, 16)))
    return dst


def mutated_json(src: Path, dst: Path, rng) -> Path:
    """regions.json with deep nesting, huge or negative coordinates, wrong types, or many regions."""
    regions = json.loads(src.read_text())
    kind = int(rng.integers(0, 6))
    if kind == 0:
        depth = int(rng.integers(1000, 200000))
        dst.write_text("[" * depth + "]" * depth)
        return dst
    if kind == 1:
        regions[0]["coordinates"] = [[10**12, 10**12]]
    elif kind == 2:
        regions[0]["coordinates"] = [[-3, 5], [4, 4]]
    elif kind == 3:
        regions[0]["coordinates"] = "row, col"
    elif kind == 4:
        regions = {"coordinates": regions}
    else:
        regions = regions * 20000
    dst.write_text(json.dumps(regions))
    return dst


def zip_bomb(dst: Path, rng) -> Path:
    """An ImageJ zip whose one entry expands from a few MB to about 1 GB."""
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("bomb.roi", "w", force_zip64=True) as fh:
            block = b"\0" * 2**24
            for _ in range(64):
                fh.write(block)
    return dst


def mutated_suite2p(src: Path, dst: Path, rng) -> Path:
    """A plane folder with one file mutated: bytes, or sizes that disagree between files."""
    shutil.copytree(src, dst)
    kind = int(rng.integers(0, 5))
    if kind == 0:
        name = ["stat.npy", "ops.npy", "F.npy", "Fneu.npy", "iscell.npy"][int(rng.integers(0, 5))]
        mutate_bytes(src / name, dst / name, list(BYTE_MUTATIONS)[int(rng.integers(0, 5))], rng)
    elif kind == 1:
        np.save(dst / "F.npy", np.zeros((3, 10), np.float32))
    elif kind == 2:
        ops = np.load(src / "ops.npy", allow_pickle=True).item()
        ops["Ly"], ops["Lx"] = 10**6, 10**6
        np.save(dst / "ops.npy", np.array(ops, dtype=object), allow_pickle=True)
    elif kind == 3:
        np.save(dst / "iscell.npy", np.zeros((1, 2)))
    else:
        stat = np.load(src / "stat.npy", allow_pickle=True)
        stat[0]["ypix"] = np.array([10**9])
        np.save(dst / "stat.npy", stat, allow_pickle=True)
    return dst


def mutated_caiman(src: Path, dst: Path, rng) -> Path:
    import h5py

    shutil.copy(src, dst)
    kind = int(rng.integers(0, 3))
    if kind == 0:
        return mutate_bytes(src, dst, list(BYTE_MUTATIONS)[int(rng.integers(0, 5))], rng)
    with h5py.File(dst, "r+") as f:
        if kind == 1:
            del f["dims"]
            f["dims"] = np.array([10**6, 10**6])
        else:
            del f["estimates/A/shape"]
            f["estimates/A/shape"] = np.array([7, 3])
    return dst


def mutated_zarr(src: Path, dst: Path, rng) -> Path:
    shutil.copytree(src, dst)
    meta = dst / "movie" / "zarr.json"
    kind = int(rng.integers(0, 3))
    if kind == 0:
        doc = json.loads(meta.read_text())
        doc["shape"] = [10**6, 10**5, 10**5]
        meta.write_text(json.dumps(doc))
    elif kind == 1:
        chunk = next(p for p in (dst / "movie").rglob("*") if p.is_file() and p.name != "zarr.json")
        mutate_bytes(chunk, chunk, list(BYTE_MUTATIONS)[int(rng.integers(0, 5))], rng)
    else:
        mutate_bytes(meta, meta, "flip", rng)
    return dst


def cases(files: dict, folder: Path, n: int, seed: int = 0) -> list[dict]:
    """``n`` mutated inputs spread over the readers, each with the command that reads it."""
    rng = np.random.default_rng(seed)
    movie_kinds = ["tiff", "tiff_zlib", "npy", "hdf5", "nwb"]
    makers = ["movie_bytes", "npy_header", "tiff_shape", "hdf5_shape", "zarr", "regions_truth", "regions_eval",
              "imagej", "zip_bomb", "suite2p", "caiman"]
    out = []
    for i in range(n):
        kind = makers[i % len(makers)] if i < len(makers) else makers[int(rng.integers(0, len(makers)))]
        case_dir = folder / f"case{i:04d}"
        case_dir.mkdir(parents=True)
        result = case_dir / "out"
        movie = files["tiff"]
        if kind == "movie_bytes":
            src = files[movie_kinds[int(rng.integers(0, len(movie_kinds)))]]
            mutation = list(BYTE_MUTATIONS)[int(rng.integers(0, len(BYTE_MUTATIONS)))]
            path = mutate_bytes(src, case_dir / src.name, mutation, rng)
            args = ["-q", "segment", str(path), "-o", str(result), "--method", "classical"]
            kind = f"{src.suffix[1:]}:{mutation}"
        elif kind == "npy_header":
            args = ["-q", "segment", str(absurd_npy(case_dir / "movie.npy", rng)), "-o", str(result)]
        elif kind == "tiff_shape":
            args = ["-q", "segment", str(absurd_tiff(case_dir / "movie.tif", rng)), "-o", str(result)]
        elif kind == "hdf5_shape":
            args = ["-q", "segment", str(absurd_hdf5(case_dir / "movie.h5", rng)), "-o", str(result)]
        elif kind == "zarr":
            args = ["-q", "segment", str(mutated_zarr(files["zarr"], case_dir / "movie.zarr", rng)), "-o",
                    str(result), "--method", "classical"]
        elif kind == "regions_truth":
            path = mutated_json(files["regions"], case_dir / "regions.json", rng)
            args = ["-q", "segment", str(movie), "-o", str(result), "--method", "classical", "--truth", str(path)]
        elif kind == "regions_eval":
            path = mutated_json(files["regions"], case_dir / "regions.json", rng)
            args = ["-q", "evaluate", str(files["regions"]), str(path)]
        elif kind == "imagej":
            path = mutate_bytes(files["imagej"], case_dir / "rois.zip", list(BYTE_MUTATIONS)[int(rng.integers(0, 5))],
                                rng)
            args = ["-q", "curate", str(path), "--movie", str(movie), "-o", str(result)]
        elif kind == "zip_bomb":
            args = ["-q", "evaluate", str(files["labels"]), str(zip_bomb(case_dir / "rois.zip", rng))]
        elif kind == "suite2p":
            args = ["-q", "curate", str(mutated_suite2p(files["suite2p"], case_dir / "plane0", rng)), "-o", str(result)]
        else:
            path = mutated_caiman(files["caiman"], case_dir / "caiman.hdf5", rng)
            args = ["-q", "curate", str(path), "--movie", str(movie), "-o", str(result)]
        out.append({"name": f"{i:04d} {kind}", "args": args, "out": str(result)})
    return out
