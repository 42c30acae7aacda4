import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
SHARED = HERE.parent.parent / "shared" / "data"
sys.path.insert(0, str(HERE))  # helpers shared with one-off scripts (neurofinder_pairs)


def shared_data(*parts) -> Path:
    """A path under ../shared/data, or skip the test when that data is not on this machine."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    return path


@pytest.fixture(scope="session")
def small_recording():
    """A small simulated two-photon recording, made once per session."""
    from neuronseg.simulate import simulate

    return simulate(frames=200, shape=(96, 96), cells=14, seed=3)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
