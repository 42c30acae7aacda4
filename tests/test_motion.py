"""Motion correction: known shifts are recovered, fields and chunks are consistent, segment uses it."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from neuronseg.errors import NeuronsegError
from neuronseg.io.movies import movie_from_array
from neuronseg.movie.motion import (MotionCorrectedMovie, MotionParams, block_slices, estimate_motion, shift_field,
                                    warp_frame)


@pytest.fixture(scope="module")
def shifted():
    from neuronseg.simulate import simulate

    # four times the default light: one 96² frame at the default (real) noise level holds too few cells
    # for every single frame to register (benchmarks/motion_residual.py measures full fields)
    rec = simulate(frames=40, shape=(96, 96), cells=14, seed=2, motion=0.0, photons=3.0)
    true = np.random.default_rng(0).uniform(-4, 4, (40, 2))
    movie = np.stack([ndi.shift(f.astype(np.float32), s, order=3, mode="nearest") for f, s in zip(rec.movie, true)])
    return movie, true, rec.movie.astype(np.float32)


def _residual_rms(corrected, clean, margin=12):
    """RMS shift left between corrected frames and the same frames never shifted."""
    from skimage.registration import phase_cross_correlation

    core = (slice(margin, -margin), slice(margin, -margin))
    res = np.array([phase_cross_correlation(c[core], f[core], upsample_factor=10, normalization=None)[0]
                    for c, f in zip(corrected, clean)])
    res -= np.median(res, axis=0)
    return float(np.sqrt((res ** 2).sum(axis=1).mean()))


def test_rigid_recovers_known_shifts_to_a_fraction_of_a_pixel(shifted):
    movie, true, _ = shifted
    est = estimate_motion(movie_from_array(movie), MotionParams("rigid"))
    err = est.shifts + true            # the estimate moves each frame back
    err -= np.median(err, axis=0)      # the reference's own offset is not motion
    assert np.sqrt((err ** 2).sum(axis=1).mean()) < 0.3
    assert est.summary()["max_shift_px"] > 3


def test_corrected_frames_line_up_and_chunks_agree_with_reads(shifted):
    movie, true, clean = shifted
    m = movie_from_array(movie)
    corrected = MotionCorrectedMovie(m, estimate_motion(m, MotionParams("rigid")))
    whole = corrected.read(0, 40)
    chunked = np.concatenate([c for _, c in corrected.chunks(9)])
    np.testing.assert_allclose(whole, chunked)
    assert _residual_rms(movie, clean) > 3
    assert _residual_rms(whole, clean) < 0.3
    with pytest.raises(NeuronsegError, match="tile"):
        next(corrected.chunks(5, window=(0, 10, 0, 10)))


def test_piecewise_field_of_equal_block_shifts_is_a_rigid_shift():
    blocks, centres = block_slices((64, 80), 3)
    field = shift_field(np.tile([1.5, -2.0], (3, 3, 1)), centres, (64, 80))
    assert np.allclose(field[0], 1.5) and np.allclose(field[1], -2.0)
    frame = np.random.default_rng(1).random((64, 80)).astype(np.float32)
    np.testing.assert_allclose(warp_frame(frame, field)[10:-10, 10:-10],
                               ndi.shift(frame, (1.5, -2.0), order=1, mode="nearest")[10:-10, 10:-10], atol=1e-5)


def test_piecewise_and_flow_also_correct_a_rigid_shift(shifted):
    movie, true, clean = shifted
    for method in ("piecewise", "flow"):
        m = movie_from_array(movie[:16])
        corrected = MotionCorrectedMovie(m, estimate_motion(m, MotionParams(method))).read(0, 16)
        assert _residual_rms(corrected, clean[:16]) < 0.4, method


def test_onephoton_settings_follow_the_tissue_not_the_sliding_haze():
    """In a one-photon movie the haze slides on its own; the wide two-photon high-pass lets it
    win the correlation, the one-photon settings track the tissue's own (known) motion."""
    from neuronseg.simulate import simulate

    rec = simulate(frames=200, shape=(96, 96), cells=24, seed=11, onephoton=True)   # 1 px motion
    movie = movie_from_array(rec.movie)

    def error(params):
        err = estimate_motion(movie, params).shifts - rec.shifts
        err -= err.mean(axis=0)
        return float(np.sqrt((err ** 2).sum(axis=1).mean()))

    assert error(MotionParams.for_onephoton()) < 0.8
    assert error(MotionParams()) > 2.0


def test_unknown_method_is_refused():
    with pytest.raises(NeuronsegError, match="--motion"):
        MotionParams("wobble")


def test_segment_with_motion_correction_records_it(tmp_path, shifted):
    import json

    import tifffile
    from click.testing import CliRunner

    from neuronseg.cli import cli

    movie, _, _ = shifted
    tifffile.imwrite(tmp_path / "m.tif", movie.astype(np.float32))
    res = CliRunner().invoke(cli, ["-q", "segment", str(tmp_path / "m.tif"), "-o", str(tmp_path / "o"),
                                   "--method", "classical", "--motion", "rigid"])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["parameters"]["motion"]["method"] == "rigid"
    assert summary["parameters"]["motion"]["max_shift_px"] > 3
    assert "motion" in summary["seconds"]
