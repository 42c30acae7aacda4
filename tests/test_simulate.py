import numpy as np
from scipy import ndimage as ndi

from neuronseg.simulate import calcium_kernel, simulate


def test_same_seed_same_movie_other_seed_other_movie():
    a = simulate(frames=30, shape=(48, 48), cells=5, seed=11)
    b = simulate(frames=30, shape=(48, 48), cells=5, seed=11)
    c = simulate(frames=30, shape=(48, 48), cells=5, seed=12)
    np.testing.assert_array_equal(a.movie, b.movie)
    assert not np.array_equal(a.movie, c.movie)


def test_ground_truth_is_consistent(small_recording):
    rec = small_recording
    assert rec.movie.shape == (200, 96, 96) and rec.movie.dtype == np.uint16
    assert len(rec.rois) == 14 == len(rec.spikes) == len(rec.traces)
    areas = rec.rois.areas()
    assert areas.min() > 20 and areas.max() < 250 and areas.std() > 3  # varied sizes
    assert rec.spikes[rec.active].sum(axis=1).min() > 0
    assert rec.spikes[~rec.active].sum() <= 2 * max(1, (~rec.active).sum())  # silent: almost no spikes


def test_cells_have_a_dark_nucleus_and_are_brighter_than_neuropil(small_recording):
    rec = small_recording
    mean = rec.movie.astype(float).mean(axis=0)
    labels = rec.rois.to_labels()
    rim, core, around = [], [], []
    for i in range(len(rec.rois)):
        coords = rec.rois.coordinates(i)
        c = coords.mean(axis=0)
        d = np.hypot(*(coords - c).T)
        r = d.max()
        rim.append(mean[tuple(coords[(d > 0.6 * r)].T)].mean())
        core.append(mean[tuple(coords[(d < 0.25 * r)].T)].mean())
        mask = labels == i + 1
        ring = ndi.binary_dilation(mask, iterations=4) & (labels == 0)
        around.append(mean[ring].mean())
    assert np.median(np.array(rim) - np.array(core)) > 0  # nucleus darker than cytoplasm
    assert np.median(np.array(rim) - np.array(around)) > 0  # cytoplasm brighter than neuropil
    labels = rec.rois.to_labels()
    assert np.median(rim) > np.median(mean[labels == 0])


def test_bleaching_noise_and_motion_are_present(small_recording):
    rec = small_recording
    m = rec.movie.astype(float)
    assert m[-20:].mean() < m[:20].mean()             # photobleaching
    assert np.abs(rec.shifts).max() > 0.5             # rigid motion
    diff = np.diff(m[:, 40:60, 40:60], axis=0)
    assert diff.std() > 0.1 * m.mean()                # shot noise frame to frame


def test_calcium_kernel_rises_fast_and_decays_slowly():
    k = calcium_kernel(fs=30, tau_rise=0.07, tau_decay=0.7)
    peak = int(np.argmax(k))
    assert k.max() == 1 and 1 <= peak <= 8
    assert 0.2 < k[peak + 21] < 0.5                   # about one decay constant later: ~1/e


def test_onephoton_adds_strong_background():
    two = simulate(frames=40, shape=(64, 64), cells=6, seed=2)
    one = simulate(frames=40, shape=(64, 64), cells=6, seed=2, onephoton=True, photons=1.5)   # same light
    assert one.movie.astype(float).mean() > 2 * two.movie.astype(float).mean()
    # a camera collects more photons than a scanned spot: relatively less shot noise by default
    bright = simulate(frames=40, shape=(64, 64), cells=6, seed=2, onephoton=True)
    assert bright.movie.astype(float).mean() > 5 * one.movie.astype(float).mean()
