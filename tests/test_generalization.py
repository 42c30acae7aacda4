"""The default method on each real recording, as a user would run it (cell size and all else
left to the defaults), scored on the part no model, threshold or default was chosen on:
rows 128–255 × columns 0–255 (`benchmarks/generalization.py` measures the same)."""

import pytest
import tifffile

from conftest import shared_data
from neuronseg.io.movies import movie_from_array
from neuronseg.io.rois import read_regions_json
from neuronseg.metrics import neurofinder_scores
from neuronseg.pipelines.segment import default_method, segment_movie

HELD_OUT = (128, 256, 0, 256)
RATES = {"neurofinder_top": 7.0, "neurofinder_0101_top": 7.5}
# measured with the shipped default, DISCo (2026-12-08, benchmarks/generalization.py): F1
# 0.547 on neurofinder_top's held-out part (64 labelled cells) and 0.480 on
# neurofinder_0101_top's (47); the classical method 0.529 and 0.333. Each floor is 0.05
# below: three or four cells of the part
FLOORS = {("disco", "neurofinder_top"): 0.50, ("disco", "neurofinder_0101_top"): 0.43,
          ("classical", "neurofinder_top"): 0.48, ("classical", "neurofinder_0101_top"): 0.28}


@pytest.mark.parametrize("name", ["neurofinder_top", "neurofinder_0101_top"])
def test_the_default_finds_the_held_out_cells_of_each_labs_recording(name):
    movie = tifffile.imread(shared_data(name, "movie.tif"))
    truth = read_regions_json(shared_data(name, "regions.json"), movie.shape[1:])
    method = default_method()
    seg = segment_movie(movie_from_array(movie), fs=RATES[name])
    assert seg.method == method and seg.diameter_estimated
    f1 = neurofinder_scores(truth.within(HELD_OUT), seg.rois.within(HELD_OUT))["combined"]
    assert f1 >= FLOORS[(method, name)], f1
