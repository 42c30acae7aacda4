"""Resampling a field to a model's cell size and mapping the masks back."""

import numpy as np
import pytest

from neuronseg.io.movies import movie_from_array
from neuronseg.metrics import neurofinder_scores
from neuronseg.movie.resample import ResampledMovie, resample_frames, resample_labels, scaled_shape


def test_labels_keep_their_identity_and_frames_their_mean_level():
    labels = np.zeros((40, 40), np.uint16)
    labels[5:15, 5:15], labels[20:34, 22:30] = 3, 7
    up = resample_labels(labels, (60, 60))
    assert set(np.unique(up)) == {0, 3, 7}
    back = resample_labels(up, (40, 40))
    assert (back == labels).mean() > 0.99
    frames = np.random.default_rng(0).uniform(50, 150, (3, 40, 40)).astype(np.float32)
    small = resample_frames(frames, scaled_shape((40, 40), 0.5))
    assert small.shape == (3, 20, 20) and abs(small.mean() - frames.mean()) < 1.0
    lazy = ResampledMovie(movie_from_array(frames), (20, 20))
    np.testing.assert_allclose(lazy.read(1, 3), small[1:3], rtol=1e-6)


@pytest.fixture(scope="module")
def field():
    from neuronseg.simulate import simulate

    # 192²: some 30 cells, so that one cell found in one run only costs the F1 less than 0.1
    return simulate(frames=300, shape=(192, 192), seed=31, diameter=10.0, photons=2.0, active_fraction=0.8)


def test_disco_honours_the_diameter_by_resampling_and_records_it(field):
    from neuronseg.pipelines.disco import DiscoModel
    from neuronseg.pipelines.segment import segment_movie

    if not DiscoModel.shipped():
        pytest.skip("no DISCo model is shipped")
    seg = segment_movie(movie_from_array(field.movie), "disco", diameter=18.0)
    trained = DiscoModel.load().config.cell_diameter
    assert seg.diameter == 18.0 and not seg.diameter_estimated
    assert seg.parameters["resampled_by"] == pytest.approx(trained / 18.0, abs=1e-3)
    assert seg.rois.shape == field.movie.shape[1:]   # masks come back in the movie's pixels
    # a field said to hold 18-px somata is shrunk until they would have the model's size: the
    # masks the model draws there come back larger than those of the field seen as it is
    normal = segment_movie(movie_from_array(field.movie), "disco", diameter=10.0)
    assert np.median(seg.rois.areas()) > 1.5 * np.median(normal.rois.areas())


@pytest.mark.parametrize("method", ["disco", "classical"])
def test_a_movie_upsampled_1_5x_gives_the_same_cells_mapped_back(field, method):
    """The same field imaged at 1.5× the zoom, told its cells are 1.5× larger: DISCo resamples
    it to its model's size and maps the masks back, the classical method scales its filters;
    either way the cells of the original run, F1 ≥ 0.9."""
    from neuronseg.pipelines.disco import DiscoModel
    from neuronseg.pipelines.segment import segment_movie
    from neuronseg.roiset import RoiSet

    if method == "disco" and not DiscoModel.shipped():
        pytest.skip("no DISCo model is shipped")
    # DISCo: told its own size, the field is used as it is, and the upsampled one comes back to this grid
    d = DiscoModel.load().config.cell_diameter if method == "disco" else 10.0
    original = segment_movie(movie_from_array(field.movie), method, diameter=d)
    assert len(original.rois) >= 20   # a run that finds nothing would agree with anything
    up = resample_frames(field.movie, (288, 288))
    seg = segment_movie(movie_from_array(up), method, diameter=1.5 * d)
    back = RoiSet.from_labels(resample_labels(seg.rois.to_labels(), (192, 192)))
    assert neurofinder_scores(original.rois, back)["combined"] >= 0.9


def test_enlarging_takes_the_fast_path_and_gives_scipys_linear_zoom():
    from scipy import ndimage as ndi

    frames = np.random.default_rng(1).random((3, 40, 56)).astype(np.float32)
    ours = resample_frames(frames, (52, 73))
    ref = ndi.zoom(frames, (1, 52 / 40, 73 / 56), order=1, mode="nearest", grid_mode=True)
    assert ours.shape == ref.shape == (3, 52, 73) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, atol=1e-4)
