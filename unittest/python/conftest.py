"""Shared fixtures for the Python tests: repo root on sys.path, engine CLI, ../shared data."""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
SEED_ONNX = os.path.join(SHARED, "seed", "original_model.onnx")


@pytest.fixture(scope="session")
def engine():
    """Path of build/mlff_painn_eval, from $MLFF_PAINN_EVAL; skips when absent."""
    path = os.environ.get("MLFF_PAINN_EVAL")
    if not path:
        pytest.skip("MLFF_PAINN_EVAL is not set (path of the engine's mlff_painn_eval CLI)")
    if not os.access(path, os.X_OK):
        pytest.skip(f"MLFF_PAINN_EVAL={path} is not an executable file")
    return path


@pytest.fixture(scope="session")
def seed_onnx():
    if not os.path.isfile(SEED_ONNX):
        pytest.skip(f"seed model not available ({SEED_ONNX}; needs the ../shared checkout)")
    return SEED_ONNX
