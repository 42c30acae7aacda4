"""Spike inference from fluorescence: OASIS for an AR(1) calcium model.

Friedrich, Zhou & Paninski (2017), the same model Suite2p's ``spks.npy`` comes from: the
denoised calcium ``c`` decays by ``g`` per frame, jumps by ``s ≥ 0`` at spikes, and is fitted
to the trace by pooling adjacent violators. Written here because the reference package
(`oasis-deconv`) is GPL-3.0 and pulls matplotlib; this is its unpenalised (λ = 0) core.
"""

from __future__ import annotations

import numpy as np


def oasis_ar1(y: np.ndarray, g: float) -> tuple[np.ndarray, np.ndarray]:
    """``(c, s)``: the non-negative AR(1) calcium closest to ``y`` in least squares, and its
    spikes ``s_t = c_t − g·c_{t−1}`` (≥ 0 by construction)."""
    y = np.asarray(y, np.float64)
    # pools of (value, weight, start, length); the calcium in a pool is value · g^k
    values, weights, starts, lengths = [], [], [], []
    for t, yt in enumerate(y):
        values.append(yt)
        weights.append(1.0)
        starts.append(t)
        lengths.append(1)
        while len(values) > 1 and values[-2] * g ** lengths[-2] > values[-1]:
            gl = g ** lengths[-2]
            w = weights[-2] + gl * gl * weights[-1]
            v = (weights[-2] * values[-2] + gl * weights[-1] * values[-1]) / w
            values[-2:] = [v]
            weights[-2:] = [w]
            lengths[-2:] = [lengths[-2] + lengths[-1]]
            starts.pop()
        if values[-1] < 0 and len(values) == 1:
            values[-1] = 0.0  # the first pool may not start below zero
    c = np.empty_like(y)
    for v, t0, n in zip(values, starts, lengths):
        c[t0 : t0 + n] = max(v, 0.0) * g ** np.arange(n)
    s = np.empty_like(c)
    s[0] = c[0]
    s[1:] = c[1:] - g * c[:-1]
    return c, np.clip(s, 0, None)


def deconvolve(traces: np.ndarray, fs: float, tau: float = 1.0, baseline_seconds: float = 60.0) -> np.ndarray:
    """Inferred spiking ``(n, T)`` float32 of each trace: the maximin baseline removed
    (:func:`neuronseg.traces.baseline`), then :func:`oasis_ar1` with ``g = exp(−1 / (tau · fs))``."""
    from neuronseg.traces import baseline

    traces = np.asarray(traces, np.float32)
    if traces.size == 0:
        return traces.copy()
    detrended = traces - baseline(traces, fs, baseline_seconds, method="maximin")
    g = float(np.exp(-1.0 / (tau * fs)))
    return np.stack([oasis_ar1(row, g)[1] for row in detrended]).astype(np.float32)
