"""schnetpack PaiNN + Atomwise (random weights) vs reference.py and vs the engine CLI.

(i)  reference.py (from the exported JSON) vs schnetpack autograd, fp64: <= 1e-12 relative;
(ii) engine vs schnetpack: <= 1e-10 relative in fp64, <= 1e-5 in fp32 and mixed.
Weights are perturbed away from schnetpack's init (zero biases, ...) so every tensor matters.
"""
import zlib

import numpy as np
import pytest
import torch

from helpers import random_cell, random_cluster, rel, run_engine
from weights import _schnetpack as spk
from weights.export import export_schnetpack
from weights.reference import Reference, neighbor_pairs

ELEMENTS = ["H", "C", "N", "O"]
Z = {"H": 1, "C": 6, "N": 7, "O": 8}

# (F, L, K, basis, cutoff, shared_filters, shared_interactions, activation, readout layers, offsets)
CONFIGS = {
    "F8-L1-K6-gauss": (8, 1, 6, "gaussian", 4.0, False, False, "silu", 2, True),
    "F16-L2-K20-gauss-sharedfilt": (16, 2, 20, "gaussian", 5.0, True, False, "silu", 3, True),
    "F16-L3-K6-bessel-sharedint": (16, 3, 6, "bessel", 4.5, False, True, "silu", 2, True),
    "F32-L3-K20-bessel-shared-ssp": (32, 3, 20, "bessel", 5.0, True, True, "ssp", 2, False),
    "F8-L2-K20-gauss-ssp": (8, 2, 20, "gaussian", 3.5, False, False, "ssp", 3, True),
    "F32-L2-K6-centered": (32, 2, 6, "centered", 4.0, False, False, "silu", 2, True),
    # the shipped students' shape: F = 64 runs the edge kernels compiled for that width
    "F64-L3-K20-gauss": (64, 3, 20, "gaussian", 5.0, False, False, "silu", 2, True),
}


def build(name):
    F, L, K, basis, rc, sf, si, act, nl, offsets = CONFIGS[name]
    torch.manual_seed(zlib.crc32(name.encode()))
    rbf = {"gaussian": lambda: spk.snn.GaussianRBF(K, rc),
           "centered": lambda: spk.snn.GaussianRBFCentered(K, rc),
           "bessel": lambda: spk.snn.BesselRBF(K, rc)}[basis]()
    fn = torch.nn.functional.silu if act == "silu" else spk.snn.shifted_softplus
    rep = spk.PaiNN(F, L, rbf, spk.snn.CosineCutoff(rc), activation=fn,
                    shared_filters=sf, shared_interactions=si)
    aw = spk.Atomwise(F, n_layers=nl, activation=fn)
    with torch.no_grad():
        for p in list(rep.parameters()) + list(aw.parameters()):
            p.add_(0.2 * torch.randn_like(p))  # non-zero biases: every tensor matters
            if p.dim() > 1:
                p.mul_(0.6)  # keeps 3 shared softplus layers from growing to ~1e26 eV
    rep, aw = rep.double(), aw.double()
    if offsets:
        post = {"scale": 1.7, "mean": -0.9, "atomrefs": np.random.default_rng(1).normal(0, 3, 100)}
    else:
        post = {"scale": 1.0, "mean": 0.0, "atomrefs": None}
    doc = export_schnetpack(rep, aw, ELEMENTS, post["mean"], post["atomrefs"], post["scale"])
    return rep, aw, post, doc


def structures(seed):
    rng = np.random.default_rng(seed)
    mol = random_cluster(rng, rng.choice(ELEMENTS, 11), box=5.0)
    sym, pos, cell = random_cell(rng, rng.choice(ELEMENTS, 7))
    return {"molecule": (mol[0], mol[1], None), "cell": (sym, pos, cell)}


def schnetpack_ef(rep, aw, post, symbols, pos, cell, cutoff):
    i, j, sh = neighbor_pairs(pos, cutoff, cell)
    E, F = spk.energy_forces(rep, aw, torch.tensor([Z[s] for s in symbols]),
                             torch.tensor(pos), torch.tensor(i), torch.tensor(j),
                             torch.tensor(sh), post["scale"], post["mean"], post["atomrefs"])
    return float(E), F.numpy()


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def model(request):
    return build(request.param)


@pytest.mark.parametrize("kind", ["molecule", "cell"])
def test_reference_matches_schnetpack(model, kind):
    rep, aw, post, doc = model
    sym, pos, cell = structures(7)[kind]
    E, F = schnetpack_ef(rep, aw, post, sym, pos, cell, doc["hyperparameters"]["cutoff"])
    out = Reference(doc).evaluate(sym, pos, cell)
    assert out["n_edges"] > 0
    assert rel(out["energy"], E) <= 1e-12
    assert rel(out["forces"], F) <= 1e-12


def test_neighbor_pairs_match_ase():
    from ase.neighborlist import primitive_neighbor_list
    sym, pos, cell = structures(3)["cell"]
    i, j, sh = neighbor_pairs(pos, 4.5, cell)
    ai, aj, ad = primitive_neighbor_list("ijd", [True] * 3, cell, pos, 4.5, self_interaction=False)
    d = np.linalg.norm(pos[j] + sh - pos[i], axis=1)
    assert len(i) == len(ai)
    np.testing.assert_allclose(np.sort(d), np.sort(ad), rtol=0, atol=1e-12)


TOL = {"fp64": 1e-10, "fp32": 1e-5, "mixed": 1e-5}


@pytest.mark.parametrize("precision", ["fp64", "fp32", "mixed"])
@pytest.mark.parametrize("kind", ["molecule", "cell"])
def test_engine_matches_schnetpack(engine, model, kind, precision):
    rep, aw, post, doc = model
    sym, pos, cell = structures(11)[kind]
    E, F = schnetpack_ef(rep, aw, post, sym, pos, cell, doc["hyperparameters"]["cutoff"])
    out = run_engine(engine, doc, sym, pos, cell, precision=precision)
    tol = TOL[precision]
    assert rel(out["energy"], E) <= tol, f"energy {out['energy']} vs {E}"
    assert rel(out["forces"], F) <= tol
    if precision == "fp64":  # per-atom energies and virial against reference.py
        ref = Reference(doc).evaluate(sym, pos, cell)
        assert rel(out["atom_energies"], ref["atom_energies"]) <= tol
        assert rel(out["virial"], ref["virial"]) <= tol
