"""The seed mlff-distiller ONNX model: exporter, reference.py and engine vs ONNX Runtime.

ONNX Runtime runs a repaired copy of the graph held in memory (weights/onnx_tools.py): the
EyeLike patch so that it loads, and ScatterElements made a sum (the model as trained). The seed
file is read from ../shared and never copied; without it every test here is skipped.
"""
import numpy as np
import pytest
from ase.build import molecule

from helpers import hexylamine, random_cluster, rel, run_engine
from weights import onnx_tools
from weights.export import export_file
from weights.reference import Reference, neighbor_pairs

NUMBERS = {"H": 1, "C": 6, "N": 7, "O": 8}
# Finite-difference step, A. Small because this family's norm has no epsilon: channels with
# |v| ~ 1e-3 (benzene, by symmetry) give the energy curvature on a 1e-3 A scale, and h = 1e-3
# misses forces by 1e-4 relative; h = 1e-5 agrees to ~1e-8 (float64 round-off ~1e-9).
H = 1e-5


def _far_from_cutoff(pos, rc=5.0, margin=0.01):
    """This family's energy jumps when a pair crosses r_c: keep differences away from it."""
    d = np.linalg.norm(pos[:, None] - pos[None], axis=2)
    return np.all(np.abs(d - rc) > margin)


def _cluster():
    rng = np.random.default_rng(5)
    while True:
        sym, pos = random_cluster(rng, rng.choice(list(NUMBERS), 16), box=5.5, dmin=1.0)
        if _far_from_cutoff(pos):
            return sym, pos


def _benzene():
    m = molecule("C6H6")
    return list(m.get_chemical_symbols()), m.positions.copy()


MOLECULES = {"benzene": _benzene, "hexylamine": hexylamine, "cluster": _cluster}


@pytest.fixture(scope="module")
def seed(seed_onnx, tmp_path_factory):
    doc, _ = export_file(seed_onnx, ["H", "C", "N", "O"])
    path = tmp_path_factory.mktemp("seed") / "seed.json"
    from weights.export_common import write_json
    write_json(doc, str(path))
    sess = {
        "f32": onnx_tools.session(onnx_tools.load_repaired(seed_onnx)),
        "f64": onnx_tools.session(onnx_tools.load_repaired(seed_onnx, float64=True)),
        "raw": onnx_tools.session(onnx_tools.load_repaired(seed_onnx, sum_scatter=False)),
    }
    return {"doc": doc, "path": str(path), "sess": sess, "fd": {}}


def ort_energy(seed, kind, sym, pos):
    return onnx_tools.energy(seed["sess"][kind], [NUMBERS[s] for s in sym], pos)


def fd_forces(seed, name):
    """-dE/dx of the float64 repaired graph, 4-point central stencil; cached per molecule."""
    if name not in seed["fd"]:
        sym, pos = MOLECULES[name]()
        assert _far_from_cutoff(pos)
        F = np.zeros_like(pos)
        for a in range(len(pos)):
            for c in range(3):
                e = []
                for k in (-2, -1, 1, 2):
                    p = pos.copy()
                    p[a, c] += k * H
                    e.append(ort_energy(seed, "f64", sym, p))
                F[a, c] = -(e[0] - 8 * e[1] + 8 * e[2] - e[3]) / (12 * H)
        seed["fd"][name] = F
    return seed["fd"][name]


def test_export_metadata(seed):
    doc = seed["doc"]
    h = doc["hyperparameters"]
    assert (doc["family"], h["features"], h["layers"], h["cutoff"]) == ("mlff-distiller", 128, 3, 5.0)
    assert h["radial_basis"]["size"] == 20 and h["readout"] == [128, 64, 32, 1]
    assert doc["tensors"]["interactions.2.mixing_matrix"]["data"] == [0.0] * 9
    assert any("mixing_matrix" in n for n in doc["metadata"]["notes"])
    assert doc["metadata"]["source"]["kind"] == "onnx"


@pytest.mark.parametrize("name", sorted(MOLECULES))
def test_reference_matches_repaired_ort(seed, name):
    """reference.py (from the JSON) vs the float64 repaired graph: energy and forces."""
    sym, pos = MOLECULES[name]()
    out = Reference(seed["doc"]).evaluate(sym, pos)
    assert rel(out["energy"], ort_energy(seed, "f64", sym, pos)) <= 1e-12
    assert rel(out["energy"], ort_energy(seed, "f32", sym, pos)) <= 1e-6
    assert rel(out["forces"], fd_forces(seed, name)) <= 1e-6


@pytest.mark.parametrize("name", sorted(MOLECULES))
def test_engine_energy_vs_ort(engine, seed, name):
    sym, pos = MOLECULES[name]()
    out = run_engine(engine, seed["path"], sym, pos, precision="fp64")
    assert rel(out["energy"], ort_energy(seed, "f32", sym, pos)) <= 1e-6
    assert rel(out["energy"], ort_energy(seed, "f64", sym, pos)) <= 1e-10


@pytest.mark.parametrize("name", sorted(MOLECULES))
def test_engine_forces_vs_finite_differences(engine, seed, name):
    sym, pos = MOLECULES[name]()
    out = run_engine(engine, seed["path"], sym, pos, precision="fp64")
    assert rel(out["forces"], fd_forces(seed, name)) <= 1e-6


def test_defect_scatter_is_last_write_wins(seed):
    """Documents seed defect (b): ScatterElements without reduction keeps one message.

    The unrepaired graph (only the EyeLike patch) differs from the summed model as soon as an
    atom has two or more neighbours, and equals a model where each receiver keeps only the
    message of its highest-index sender.
    """
    sym, pos = _benzene()
    i, _, _ = neighbor_pairs(pos, 5.0)
    assert np.bincount(i).max() >= 2
    ref = Reference(seed["doc"])
    e_raw = ort_energy(seed, "raw", sym, pos)
    e_sum = ref.evaluate(sym, pos)["energy"]
    e_last = ref.evaluate(sym, pos, aggregate="last")["energy"]
    assert rel(e_raw, e_sum) > 1e-2
    assert rel(e_raw, e_last) <= 1e-5
