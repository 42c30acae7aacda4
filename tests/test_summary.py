import numpy as np
import pytest

from neuronseg import NeuronsegError
from neuronseg.movie.summary import NeighbourCorrelation, local_correlation_image, summarize


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
