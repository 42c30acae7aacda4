"""`--diameter auto`: the soma size read off a field's images, and fields resampled to a model's size."""

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage as ndi

from neuronseg.movie.diameter import estimate_diameter, ncc_stack, template, template_per_cell


def _field(diameter: float, seed: int, shape=(256, 256), n_cells=40):
    """Bright and dark discs of ``diameter`` px on a textured background with many 2-px specks
    (boutons), blurred and noisy: the mean, std and correlation images of a synthetic field."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    image = 1 + 0.1 * ndi.gaussian_filter(rng.normal(size=shape), 4)
    for _ in range(n_cells):
        r, c = rng.uniform(diameter, np.array(shape) - diameter)
        disc = np.hypot(yy - r, xx - c) <= diameter / 2
        image[disc] *= rng.choice([0.6, 1.8])          # dark (quiet) or bright somata
    specks = np.zeros(shape)
    specks[rng.integers(0, shape[0], 800), rng.integers(0, shape[1], 800)] = rng.lognormal(0, 0.5, 800)
    image = ndi.gaussian_filter(image + 0.3 * ndi.gaussian_filter(specks, 0.8), 0.6) + rng.normal(0, 0.03, shape)
    return SimpleNamespace(mean=image, std=np.abs(image - 1) + 0.5, correlation=ndi.gaussian_filter(image, 1))


@pytest.mark.parametrize("diameter", [8.0, 13.0, 22.0])
def test_the_estimate_finds_the_size_of_the_somata_not_of_the_specks(diameter):
    estimate = estimate_diameter(_field(diameter, seed=int(diameter)))
    assert abs(estimate / diameter - 1) < 0.15, estimate


def test_a_field_without_soma_like_structure_has_no_estimate_and_segment_says_what_it_assumed(caplog):
    from neuronseg.io.movies import movie_from_array
    from neuronseg.movie.soma import TYPICAL_DIAMETER
    from neuronseg.pipelines.segment import segment_movie

    flat = np.ones((64, 64))
    assert estimate_diameter(SimpleNamespace(mean=flat, std=flat, correlation=flat)) is None
    noise = np.random.default_rng(0).normal(100, 1, (30, 48, 48)).astype(np.float32)
    seg = segment_movie(movie_from_array(noise), "classical")
    assert seg.diameter == TYPICAL_DIAMETER and not seg.diameter_estimated
    assert "give --diameter PX" in caplog.text


def test_the_shared_transform_gives_skimages_normalised_cross_correlation():
    from skimage.feature import match_template

    image = np.random.default_rng(0).normal(size=(80, 96)).cumsum(axis=1)
    ours = ncc_stack(image, [9.0])[0]
    theirs = match_template(image, template(9.0), pad_input=True, mode="reflect")
    inner = (slice(12, -12), slice(12, -12))   # both pad the border their own way
    np.testing.assert_allclose(ours[inner], theirs[inner], atol=1e-5)


def test_small_somata_match_relatively_larger_templates():
    assert template_per_cell(10.0) > template_per_cell(25.0) >= 1.0
