import numpy as np
import pytest

from neuronseg import NeuronsegError
from neuronseg.movie.summary import NeighbourCorrelation, StreamingSummary, summarize


def _chunks(movie, sizes):
    t = 0
    for s in sizes:
        yield t, movie[t : t + s]
        t += s


def test_neighbour_correlations_match_direct_computation(rng):
    base = rng.normal(size=(50, 9, 11)).astype(np.float32)
    movie = base + 0.7 * np.roll(base, 1, axis=2) + 1000  # correlated neighbours, large offset
    offsets = [(0, 1), (1, 0), (2, -1), (-3, 0)]
    acc = NeighbourCorrelation((9, 11), offsets)
    for _, chunk in _chunks(movie, [7, 20, 23]):
        acc.update(chunk)
    corr = acc.correlations()
    for k, (dy, dx) in enumerate(offsets):
        for r in range(9):
            for c in range(11):
                r2, c2 = r + dy, c + dx
                if 0 <= r2 < 9 and 0 <= c2 < 11:
                    direct = np.corrcoef(movie[:, r, c].astype(float), movie[:, r2, c2].astype(float))[0, 1]
                    assert corr[k, r, c] == pytest.approx(direct, abs=1e-5)
                else:
                    assert corr[k, r, c] == 0


def test_local_correlation_image_is_mean_over_8_neighbours(rng):
    movie = rng.normal(size=(40, 6, 7)).astype(np.float32)
    movie[:, 2:4, 2:5] += rng.normal(size=(40, 1, 1)) * 2  # a correlated patch
    s = summarize(_chunks(movie, [15, 25]), (6, 7))
    r, c = 3, 3
    neigh = [np.corrcoef(movie[:, r, c], movie[:, r + dy, c + dx])[0, 1]
             for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
    assert s.correlation[r, c] == pytest.approx(np.mean(neigh), abs=1e-5)
    np.testing.assert_allclose(s.mean, movie.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(s.std, movie.std(axis=0), rtol=1e-4)
    np.testing.assert_array_equal(s.max, movie.max(axis=0))
    assert s.correlation[2:4, 2:5].mean() > s.correlation[0, :].mean() + 0.3


def test_nan_movie_is_refused():
    movie = np.ones((10, 8, 8), np.float32)
    movie[4, 2, 2] = np.nan
    with pytest.raises(NeuronsegError, match="NaN"):
        summarize(_chunks(movie, [10]), (8, 8))


def test_constant_movie_is_refused():
    movie = np.full((10, 8, 8), 500, np.uint16)
    with pytest.raises(NeuronsegError, match="does not vary"):
        summarize(_chunks(movie, [5, 5]), (8, 8))


def test_segment_correlations_match_pooling_then_direct_correlation(rng):
    from neuronseg.movie.features import SegmentCorrelations, disco_features, disco_offsets

    movie = rng.gamma(2.0, size=(53, 8, 9)).astype(np.float32)
    offsets = disco_offsets(15)
    assert len(set(offsets)) == 15 and max(dy * dy + dx * dx for dy, dx in offsets) <= 9
    acc = SegmentCorrelations((8, 9), 53, pool=3, n_segments=4, offsets=offsets)
    s = summarize(_chunks(movie, [10, 11, 32]), (8, 9), consumers=[acc])  # chunks not multiples of 3
    feats = acc.finish()
    pooled = movie[:51].reshape(17, 3, 8, 9).max(axis=1)
    bounds = np.linspace(0, 17, 5).round().astype(int)
    for seg in range(4):
        block = pooled[bounds[seg] : bounds[seg + 1]].astype(float)
        for k, (dy, dx) in enumerate(offsets):
            r, c = 4, 4
            direct = np.corrcoef(block[:, r, c], block[:, r + dy, c + dx])[0, 1]
            assert feats[seg, k, r, c] == pytest.approx(direct, abs=1e-4)
    np.testing.assert_allclose(disco_features(movie, pool=3, n_segments=4, offsets=offsets), feats, atol=1e-6)
    assert s.n_frames == 53


def test_summary_does_not_depend_on_the_chunk_length():
    rng = np.random.default_rng(5)
    movie = rng.normal(100, 10, (61, 20, 24)).astype(np.float32)
    movie[:, 5:9, 5:9] += rng.normal(0, 20, (61, 1, 1)).astype(np.float32)  # a correlated patch
    results = [summarize(_chunks(movie, sizes), movie.shape[1:], temporal_bin=3) for sizes in ([7] * 9, [50, 11], [61])]
    for other in results[1:]:
        np.testing.assert_allclose(other.correlation, results[0].correlation, atol=1e-5)
        np.testing.assert_allclose(other.mean, results[0].mean, rtol=1e-6)


def test_streaming_summary_of_filtered_frames_equals_the_summary_of_the_whole_stack(rng):
    """Every image over the same frames (no binning), whatever the chunks."""
    frames = rng.normal(size=(45, 10, 12)).astype(np.float32)
    frames[:, 3:6, 4:8] += rng.normal(size=(45, 1, 1)).astype(np.float32) * 3   # a correlated patch
    acc = StreamingSummary((10, 12))
    for _, chunk in _chunks(frames, [4, 30, 11]):
        acc.update(chunk)
    got, whole = acc.result(), summarize(_chunks(frames, [45]), (10, 12))
    assert got.n_frames == 45
    for name in ("mean", "max", "std", "correlation"):
        np.testing.assert_allclose(getattr(got, name), getattr(whole, name), atol=1e-5)
    assert got.correlation[3:6, 4:8].mean() > got.correlation[0].mean() + 0.3
