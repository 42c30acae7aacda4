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


def _rim_core_around(rec):
    """Per cell in the mean image: its rim (outer 40 % of the radius), core (inner 25 %) and
    the neuropil in a 4-px ring around it."""
    mean = rec.movie.astype(float).mean(axis=0)
    labels = rec.rois.to_labels()
    rim, core, around = [], [], []
    for i in range(len(rec.rois)):
        coords = rec.rois.coordinates(i)
        d = np.hypot(*(coords - coords.mean(axis=0)).T)
        rim.append(mean[tuple(coords[(d > 0.6 * d.max())].T)].mean())
        core.append(mean[tuple(coords[(d < 0.25 * d.max())].T)].mean())
        ring = ndi.binary_dilation(labels == i + 1, iterations=4) & (labels == 0)
        around.append(mean[ring].mean())
    return np.array(rim), np.array(core), np.array(around)


STILL = dict(frames=40, shape=(128, 128), motion=0.0, photons=50.0, active_fraction=0.0, out_of_focus=0.0)


def test_the_diameter_option_sets_the_somata_size():
    for d in (8.0, 20.0):
        rec = simulate(seed=5, diameter=d, **STILL)
        measured = np.sqrt(4 * np.median(rec.rois.areas()) / np.pi)
        assert abs(measured / d - 1) < 0.15, (d, measured)


def test_the_density_option_sets_the_number_of_somata():
    few, many = (simulate(seed=5, density=k, **STILL) for k in (4.0, 12.0))
    assert len(few.rois) == round(4 * 128 * 128 / 1e4) and len(many.rois) == round(12 * 128 * 128 / 1e4)


def test_somata_are_rings_or_filled_as_asked():
    rings = simulate(seed=6, nucleus_fraction=1.0, brightness=3.0, **STILL)
    rim, core, _ = _rim_core_around(rings)
    assert np.mean(rim > core) > 0.8                  # a dark nucleus in a ring of cytoplasm
    filled = simulate(seed=6, nucleus_fraction=0.0, brightness=3.0, **STILL)
    rim, core, _ = _rim_core_around(filled)
    assert np.mean(core >= rim) > 0.8                 # filled: brightest at the centre


def test_dim_somata_are_dark_holes_in_the_neuropil_and_bright_ones_stand_out():
    for brightness, dark_share in ((0.3, (0.8, 1.0)), (3.0, (0.0, 0.2))):
        rec = simulate(seed=7, brightness=brightness, nucleus_fraction=1.0, **STILL)
        rim, core, around = _rim_core_around(rec)
        share = np.mean((rim + core) / 2 < around)
        assert dark_share[0] <= share <= dark_share[1], (brightness, share)


def test_the_quiet_share_is_as_asked_and_quiet_somata_barely_fire():
    rec = simulate(frames=300, shape=(160, 160), seed=8, active_fraction=0.2)
    assert abs(rec.active.mean() - 0.2) < 0.12
    assert rec.spikes[~rec.active].sum() <= 2 * (~rec.active).sum()
    assert rec.spikes[rec.active].sum(axis=1).min() > 0


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
