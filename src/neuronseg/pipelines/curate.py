"""Curation: score candidates, decide at a target precision, drop duplicates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuronseg.curation.crops import weighted_centres
from neuronseg.curation.decision import duplicate_of
from neuronseg.curation.model import CurationModel
from neuronseg.io.candidates import Candidates
from neuronseg.roiset import RoiSet
from neuronseg.metrics import neurofinder_scores

DEFAULT_PRECISION = 0.9


@dataclass
class Curation:
    """Per candidate: calibrated score, decision, and the better candidate it duplicates (−1: none)."""

    scores: np.ndarray
    decision: np.ndarray
    duplicate_of: np.ndarray
    threshold: dict

    @property
    def n_cells(self) -> int:
        return int(self.decision.sum())


def curate(cands: Candidates, model: CurationModel, precision: float = DEFAULT_PRECISION,
           keep_duplicates: bool = False) -> Curation:
    """Cells are candidates scoring at or above the threshold that reached ``precision`` on
    the model's validation data; of two such candidates centred < 5 px apart only the
    better-scoring one stays (unless ``keep_duplicates``)."""
    scores = model.score(cands)
    threshold = model.threshold(precision)
    above = scores >= threshold["threshold"]
    dup = np.full(len(scores), -1, np.int64) if keep_duplicates else duplicate_of(weighted_centres(cands.rois), scores, above)
    return Curation(scores, above & (dup < 0), dup, threshold)


def curate_source(source, precision: float = DEFAULT_PRECISION, model=None, movie=None, dataset=None,
                  keep_duplicates: bool = False, device: str = "cpu") -> tuple[Candidates, CurationModel, Curation]:
    """Read the candidates of ``source`` (with ``movie`` when the model needs images), load
    ``model`` (default: shipped) and curate; returns ``(candidates, model, curation)``."""
    from neuronseg.curation.candidates import read_candidates_for

    cmodel = CurationModel.load(model, device)
    cands = read_candidates_for(cmodel.config, source, movie, dataset)
    return cands, cmodel, curate(cands, cmodel, precision, keep_duplicates)


def truth_scores(cands: Candidates, result: Curation, truth: RoiSet) -> dict:
    """Neurofinder scores against human masks: all candidates, the tool's own pick, the curation."""
    sets = {"all_candidates": np.ones(len(cands), bool), "curated": result.decision}
    if cands.tool_decision is not None:
        sets["tool"] = cands.tool_decision
    return {name: neurofinder_scores(truth, cands.rois.subset(keep)) for name, keep in sets.items()}


def least_certain(result: Curation, n: int) -> np.ndarray:
    """Indices of the ``n`` candidates scored closest to the decision threshold."""
    t = min(result.threshold["threshold"], 1.0)
    return np.argsort(np.abs(result.scores - t), kind="stable")[:n]
