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


def _required_file(var, what):
    """Path from $var; fails when MLFF_REQUIRE_LAMMPS=1 (the ctest run), skips otherwise."""
    path = os.environ.get(var)
    if path and os.path.isfile(path):
        return os.path.abspath(path)
    msg = f"{var} is not set to an existing file ({what})"
    if os.environ.get("MLFF_REQUIRE_LAMMPS") == "1":
        pytest.fail(msg + "; scripts/setup.sh builds it")
    pytest.skip(msg)


@pytest.fixture(scope="session")
def lmp():
    """The LAMMPS binary built by scripts/build_lammps.sh (PLUGIN, KOKKOS, MOLECULE, MPI)."""
    return _required_file("MLFF_LMP", "the lmp binary")


@pytest.fixture(scope="session")
def plugin():
    """build/mlff_painn_plugin.so."""
    return _required_file("MLFF_PAINN_PLUGIN", "the mlff/painn LAMMPS plugin")
