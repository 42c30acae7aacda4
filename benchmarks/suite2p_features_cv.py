"""Feature-only curation vs Suite2p's built-in classifier on Suite2p's own curated set; one JSON line.

Data: `shared/data/suite2p_classifier` — 14,058 ROIs hand-labelled cell / not cell by the
Suite2p authors, as the features their classifier uses (skew, compact, npix_norm; the v0
file adds footprint). Ten-fold cross-validated accuracy (and AP) of:

- **suite2p_method**: Suite2p 1.1.0's classifier as its source describes it, re-expressed
  here (the package itself is GPL and not a dependency): per feature, cell fraction in 99
  quantile bins, Gaussian-smoothed over bins (σ = 2), as log-odds; then a logistic regression
  (C = 100) on those log-odds.
- **neuronseg_features**: neuronseg's curation head (`CurationNet` with no crop channels) on
  the same features, rank-transformed to normal quantiles on the training folds, trained with
  neuronseg's own loop (balanced by nothing: the classes are near even).

The folds are random (the file does not say which recording a ROI came from), so both
numbers are optimistic to the same degree.

    python benchmarks/suite2p_features_cv.py [--file classifier_v0_4feat_14058.npz]
"""

import argparse
import json
import sys

import numpy as np
import torch
from scipy import optimize, special
from scipy.ndimage import gaussian_filter1d

from curation_neurofinder import DATA

from neuronseg.curation.decision import average_precision
from neuronseg.curation.config import CurationConfig
from neuronseg.train.curation import CurationTrainParams, train_network
from neuronseg.curation.model import predict_logits


def logistic_regression(x, y, c=100.0):
    """L2-penalised logistic regression (penalty 1 / (2C) · |w|², intercept free)."""
    x1 = np.c_[x, np.ones(len(x))]

    def loss(w):
        z = x1 @ w
        grad_z = 1 / (1 + np.exp(-z)) - y
        reg = np.r_[w[:-1], 0.0]
        return np.sum(np.logaddexp(0, z) - y * z) + reg @ reg / (2 * c), x1.T @ grad_z + reg / c

    return optimize.minimize(loss, np.zeros(x1.shape[1]), jac=True, method="L-BFGS-B").x


class Suite2pMethod:
    """Per-feature smoothed cell fraction over quantile bins → log-odds → logistic regression."""

    def fit(self, x, y, nodes=100):
        idx = np.linspace(0, len(x) - 1, nodes).astype(int)
        order = np.argsort(x, axis=0)
        self.grid = np.take_along_axis(x, order, axis=0)[idx]
        frac = np.array([[y[order[idx[j]:idx[j + 1], k]].mean() for k in range(x.shape[1])]
                         for j in range(nodes - 1)])
        self.p = gaussian_filter1d(frac, 2.0, axis=0)
        self.w = logistic_regression(self._logodds(x), y)
        return self

    def _logodds(self, x):
        out = np.zeros(x.shape)
        for k in range(x.shape[1]):
            v = np.clip(np.nan_to_num(x[:, k], nan=self.grid[0, k]), self.grid[0, k], self.grid[-1, k])
            b = np.clip(np.digitize(v, self.grid[:, k], right=True) - 1, 0, len(self.p) - 1)
            out[:, k] = np.log(self.p[b, k] + 1e-6) - np.log(1 - self.p[b, k] + 1e-6)
        return out

    def predict_proba(self, x):
        return 1 / (1 + np.exp(-(np.c_[self._logodds(x), np.ones(len(x))] @ self.w)))


def neuronseg_scores(x_train, y_train, x_test, seed):
    # rank → normal quantiles, fitted on the training folds: heavy tails and odd scales gone
    ref = np.sort(x_train, axis=0)
    def gauss(v):
        u = np.stack([np.searchsorted(ref[:, k], v[:, k]) for k in range(v.shape[1])], axis=1)
        return special.ndtri(np.clip((u + 0.5) / (len(ref) + 1), 1e-4, 1 - 1e-4))
    f_train, f_test = gauss(x_train), gauss(x_test)
    rng = np.random.default_rng(seed)
    inner = rng.random(len(y_train)) < 0.1  # early stopping on an inner split, never the test fold
    empty = lambda n: np.zeros((n, 0, 1, 1), np.float32)  # noqa: E731 - no crop channels
    part = lambda m: {"x": empty(m.sum()), "f": f_train[m].astype(np.float32), "y": y_train[m].astype(bool)}  # noqa: E731
    config = CurationConfig(channels=[], features=[], n_features=x_train.shape[1], dropout=0.1)
    params = CurationTrainParams(epochs=60, batch_size=128, patience=10)
    net, _ = train_network(config, params, part(~inner), part(inner), seed, torch.device("cpu"))
    return 1 / (1 + np.exp(-predict_logits([net], empty(len(f_test)), f_test.astype(np.float32))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", default="classifier_wheel110_3feat_14058.npz")
    ap.add_argument("--folds", type=int, default=10)
    args = ap.parse_args()
    path = DATA / "suite2p_classifier" / args.file
    if not path.exists():
        sys.exit(f"needs {path}")
    d = np.load(path, allow_pickle=True)
    x, y = np.asarray(d["stats"], np.float64), np.asarray(d["iscell"]).astype(float).ravel()
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    fold = rng.permutation(len(y)) % args.folds
    res = {"suite2p_method": [], "neuronseg_features": []}
    for k in range(args.folds):
        tr, te = fold != k, fold == k
        p_s2p = Suite2pMethod().fit(x[tr], y[tr]).predict_proba(x[te])
        p_ns = neuronseg_scores(x[tr], y[tr], x[te], seed=k)
        for name, p in (("suite2p_method", p_s2p), ("neuronseg_features", p_ns)):
            res[name].append(((p > 0.5) == (y[te] > 0.5)).mean())
            res[name + "_ap"] = res.get(name + "_ap", []) + [average_precision(p, y[te] > 0.5)]
    out = {"file": args.file, "n": int(len(y)), "features": [str(k) for k in d["keys"]], "folds": args.folds}
    for name in ("suite2p_method", "neuronseg_features"):
        acc = np.array(res[name])
        out[name] = {"accuracy": round(acc.mean(), 4), "accuracy_sd": round(acc.std(), 4),
                     "average_precision": round(float(np.mean(res[name + "_ap"])), 4)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
