"""Traces and activity: ΔF/F baselines and event detection."""

import numpy as np
import pytest

from neuronseg.traces import delta_f_over_f


def test_delta_f_over_f_follows_the_baseline():
    t = np.arange(1000)
    baseline = 100 + 0.01 * t                       # slow drift: +10 % over the recording
    f = np.tile(baseline, (1, 1)).astype(np.float32)
    f[0, 500:510] += 50                              # one transient
    dff = delta_f_over_f(f, fs=10.0)
    assert np.abs(dff[0, :450]).max() < 0.05
    assert np.abs(dff[0, 600:]).max() < 0.05        # a baseline fixed at the start would give 0.06–0.1 here
    assert dff[0, 505] == pytest.approx(50 / baseline[505], rel=0.1)


def test_events_are_found_at_transients_and_not_in_noise():
    from neuronseg.traces import detect_events

    rng = np.random.default_rng(1)
    fs, t = 10.0, 2000
    noise = rng.normal(0, 0.02, (1, t)).astype(np.float32)
    trace = noise.copy()
    onsets = [300, 900, 1500]
    for t0 in onsets:
        trace[0, t0:] += 0.5 * np.exp(-np.arange(t - t0) / (1.0 * fs))
    events = np.flatnonzero(detect_events(trace, fs)[0])
    assert len(events) == 3 and all(abs(e - o) <= 5 for e, o in zip(events, onsets))
    assert detect_events(noise, fs).sum() <= 2  # noise alone: (almost) nothing
