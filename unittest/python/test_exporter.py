"""Exporter: state_dict round trips, user-error messages, JSON Schema and cross-field checks."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import ROOT
from weights import export
from weights.validate import problems

F, K, L, HF, HU = 8, 6, 2, 12, 10


def distiller_state_dict(prefix="", last_mixing=False, seed=0):
    """Random mlff-distiller state dict with the seed's names (small F)."""
    g = torch.Generator().manual_seed(seed)
    # scale 0.4 keeps activations moderate (unscaled, SiLU saturates and forces vanish)
    r = lambda *s: 0.4 * torch.randn(*s, generator=g, dtype=torch.float64)  # noqa: E731
    sd = {"embedding.weight": r(101, F), "rbf.centers": torch.linspace(0, 4.5, K, dtype=torch.float64),
          "rbf.widths": 0.5 + r(K).abs()}
    for l in range(L):
        p = f"interactions.{l}."
        sd.update({p + "message.rbf_to_scalar.0.weight": r(HF, K), p + "message.rbf_to_scalar.0.bias": r(HF),
                   p + "message.rbf_to_scalar.2.weight": r(3 * F, HF), p + "message.rbf_to_scalar.2.bias": r(3 * F),
                   p + "update.update_mlp.0.weight": r(HU, 2 * F), p + "update.update_mlp.0.bias": r(HU),
                   p + "update.update_mlp.2.weight": r(3 * F, HU), p + "update.update_mlp.2.bias": r(3 * F)})
        if l < L - 1 or last_mixing:
            sd[p + "update.mixing_matrix"] = r(3, 3)
    for k, (o, i) in enumerate([(4, F), (2, 4), (1, 2)]):
        sd[f"energy_head.{2 * k}.weight"], sd[f"energy_head.{2 * k}.bias"] = r(o, i), r(o)
    return {prefix + k: v for k, v in sd.items()}


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "weights.export", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def export_sd(tmp_path, sd, elements=("H", "C", "N", "O"), name="sd.pt"):
    src = tmp_path / name
    torch.save(sd, src)
    out = tmp_path / (name + ".json")
    assert export.main([str(src), "-o", str(out), "--elements", *elements]) == 0
    with open(out) as f:
        return json.load(f)


@pytest.mark.parametrize("prefix", ["", "model."])
@pytest.mark.parametrize("last_mixing", [False, True])
def test_state_dict_round_trip(tmp_path, prefix, last_mixing):
    sd = distiller_state_dict(prefix, last_mixing)
    doc = export_sd(tmp_path, sd)
    assert problems(doc) == []
    t = doc["tensors"]
    h = doc["hyperparameters"]
    assert (h["features"], h["layers"], h["readout"]) == (F, L, [F, 4, 2, 1])
    assert h["cutoff"] == float(sd[prefix + "rbf.centers"][-1])
    # values are the float64 source values exactly (repr round trip through JSON)
    names = {"interactions.1.filter.1.weight": "interactions.1.message.rbf_to_scalar.2.weight",
             "interactions.0.update.0.bias": "interactions.0.update.update_mlp.0.bias",
             "readout.2.weight": "energy_head.4.weight", "embedding.weight": "embedding.weight"}
    for dst, src in names.items():
        a = np.array(t[dst]["data"]).reshape(t[dst]["shape"])
        assert np.array_equal(a, sd[prefix + src].numpy()), dst
    gam = np.array(h["radial_basis"]["gammas"])
    assert np.allclose(gam, 1 / sd[prefix + "rbf.widths"].numpy() ** 2, rtol=1e-15)
    mix = np.array(t[f"interactions.{L - 1}.mixing_matrix"]["data"])
    if last_mixing:
        assert np.array_equal(mix, sd[prefix + f"interactions.{L - 1}.update.mixing_matrix"].numpy().ravel())
        assert not doc["metadata"].get("notes")
    else:
        assert not mix.any() and "mixing_matrix" in doc["metadata"]["notes"][0]
    assert doc["metadata"]["source"]["kind"] == "state_dict"
    assert len(doc["metadata"]["source"]["sha256"]) == 64


def test_prefix_does_not_change_the_model(tmp_path):
    a = export_sd(tmp_path, distiller_state_dict(""), name="a.pt")
    b = export_sd(tmp_path, distiller_state_dict("model."), name="b.pt")
    assert a["tensors"] == b["tensors"] and a["hyperparameters"] == b["hyperparameters"]


def test_state_dict_reference_runs(tmp_path):
    from helpers import random_cluster
    from weights.reference import Reference
    doc = export_sd(tmp_path, distiller_state_dict())
    sym, pos = random_cluster(np.random.default_rng(0), ["C", "H", "O", "N", "H", "H"])
    out = Reference(doc).evaluate(sym, pos)
    assert np.isfinite(out["energy"]) and np.abs(out["forces"]).sum() > 0


# --- user errors: exit status 2, one line naming the problem, no traceback -------------------

def _error(tmp_path, src, *elements):
    r = run_cli(src, "-o", tmp_path / "out.json", "--elements", *elements)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and r.stderr.startswith("error: ")
    assert not (tmp_path / "out.json").exists()
    return r.stderr


@pytest.fixture
def sd_file(tmp_path):
    def make(sd):
        p = tmp_path / "in.pt"
        torch.save(sd, p)
        return p
    return make


def test_error_unknown_element(tmp_path, sd_file):
    assert "unknown element symbol 'Qq'" in _error(tmp_path, sd_file(distiller_state_dict()), "C", "Qq")


def test_error_element_beyond_embedding(tmp_path, sd_file):
    sd = distiller_state_dict()
    sd["embedding.weight"] = sd["embedding.weight"][:10]
    msg = _error(tmp_path, sd_file(sd), "C", "Na")
    assert "Na (Z=11)" in msg and "10 rows" in msg


def test_error_missing_initializer(tmp_path, sd_file):
    sd = distiller_state_dict("model.")
    del sd["model.interactions.1.update.update_mlp.2.bias"]
    assert "interactions.1.update.update_mlp.2.bias" in _error(tmp_path, sd_file(sd), "C")


def test_error_missing_mixing_matrix_of_inner_layer(tmp_path, sd_file):
    sd = distiller_state_dict()
    del sd["interactions.0.update.mixing_matrix"]
    assert "interactions.0.update.mixing_matrix" in _error(tmp_path, sd_file(sd), "C")


def test_error_inconsistent_shape(tmp_path, sd_file):
    sd = distiller_state_dict()
    sd["interactions.1.message.rbf_to_scalar.2.weight"] = torch.zeros(3 * F, HF + 1)
    msg = _error(tmp_path, sd_file(sd), "C")
    assert "interactions.1.message.rbf_to_scalar.2.weight" in msg and "expected" in msg


def test_error_not_a_model(tmp_path, sd_file):
    txt = tmp_path / "notes.txt"
    txt.write_text("hello, this is not a model\n")
    assert "neither an ONNX model" in _error(tmp_path, txt, "C")
    assert "no such file" in _error(tmp_path, tmp_path / "absent.onnx", "C")
    assert "expected a state_dict" in _error(tmp_path, sd_file([1, 2, 3]), "C")
    assert "not an mlff-distiller model" in _error(tmp_path, sd_file({"w": torch.zeros(2)}), "C")


def test_error_unsupported_schnetpack_parts():
    from weights import _schnetpack as spk
    from weights.export_common import ExportError
    rep = spk.PaiNN(8, 1, spk.snn.GaussianRBF(6, 4.0), spk.snn.MollifierCutoff(4.0))
    with pytest.raises(ExportError, match="unsupported cutoff function MollifierCutoff"):
        export.export_schnetpack(rep, spk.Atomwise(8), ["C"])
    rep = spk.PaiNN(8, 1, spk.snn.GaussianRBF(6, 4.0), spk.snn.CosineCutoff(4.0), activation=torch.tanh)
    with pytest.raises(ExportError, match="unsupported activation"):
        export.export_schnetpack(rep, spk.Atomwise(8), ["C"])


# --- whole schnetpack model through the CLI, with postprocessors ----------------------------

def test_whole_schnetpack_model(tmp_path):
    from weights import _schnetpack as spk
    import schnetpack.atomistic as satom
    import schnetpack.model as smodel
    import schnetpack.transform as trn
    from helpers import random_cluster, rel
    from weights.reference import Reference, neighbor_pairs
    torch.manual_seed(3)
    rep = spk.PaiNN(8, 2, spk.snn.BesselRBF(6, 4.0), spk.snn.CosineCutoff(4.0), shared_filters=True)
    aw = spk.Atomwise(8, output_key="energy")
    with torch.no_grad():
        for p in list(rep.parameters()) + list(aw.parameters()):
            p.add_(0.2 * torch.randn_like(p))
    offs = spk.AddOffsets("energy", add_mean=True, add_atomrefs=True,
                          property_mean=torch.tensor([-1.25]))
    offs.atomref = torch.randn(100)  # AddOffsets(atomrefs=...) fails in schnetpack 2.1.1
    model = smodel.NeuralNetworkPotential(
        rep, input_modules=[satom.PairwiseDistances()], output_modules=[aw, satom.Forces()],
        postprocessors=[trn.CastTo64(), trn.ScaleProperty("energy", scale=torch.tensor([2.5])), offs])
    src = tmp_path / "model.pt"
    torch.save(model, src)
    r = run_cli(src, "-o", tmp_path / "m.json", "--elements", "H", "C", "O", "--check",
                "--provenance", "unit test")
    assert r.returncode == 0, r.stderr
    assert "check:" in r.stdout and "schnetpack" in r.stdout
    doc = json.loads((tmp_path / "m.json").read_text())
    assert problems(doc) == []
    assert doc["metadata"]["schnetpack_version"] and doc["metadata"]["provenance"] == "unit test"
    assert doc["hyperparameters"]["energy_scale"] == 2.5
    sym, pos = random_cluster(np.random.default_rng(1), ["C", "H", "O", "H", "H", "C", "O"])
    i, j, sh = neighbor_pairs(pos, 4.0)
    E, Fs = spk.run_model(model.double(), torch.tensor([{"H": 1, "C": 6, "O": 8}[s] for s in sym]),
                          pos, torch.tensor(i), torch.tensor(j), sh)
    out = Reference(doc).evaluate(sym, pos)
    assert rel(out["energy"], float(E)) <= 1e-12 and rel(out["forces"], Fs.numpy()) <= 1e-12


# --- schema -------------------------------------------------------------------------------

def test_schema(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    with open(os.path.join(ROOT, "weights", "schema.json")) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)
    from test_schnetpack import build
    docs = [export_sd(tmp_path, distiller_state_dict()), build("F16-L3-K6-bessel-sharedint")[3]]
    for doc in docs:
        v.validate(doc)
    bad = json.loads(json.dumps(docs[0]))
    bad["extra"] = 1
    bad["hyperparameters"]["shared_filters"] = True
    bad["tensors"]["filter_net.weight"] = {"shape": [1], "data": [0.0]}
    assert len(list(v.iter_errors(bad))) >= 3


# --- engine on an mlff-distiller model that needs no ../shared data -------------------------

@pytest.mark.parametrize("precision,tol", [("fp64", 1e-10), ("fp32", 1e-5), ("mixed", 1e-5)])
@pytest.mark.parametrize("kind", ["molecule", "cell"])
def test_engine_matches_reference_distiller(engine, tmp_path, kind, precision, tol):
    from helpers import random_cell, random_cluster, rel, run_engine
    from weights.reference import Reference
    doc = export_sd(tmp_path, distiller_state_dict(seed=4))
    rng = np.random.default_rng(9)
    if kind == "molecule":
        (sym, pos), cell = random_cluster(rng, rng.choice(["H", "C", "N", "O"], 10), box=5.0), None
    else:
        sym, pos, cell = random_cell(rng, rng.choice(["H", "C", "N", "O"], 6))
    ref = Reference(doc).evaluate(sym, pos, cell)
    out = run_engine(engine, doc, sym, pos, cell, precision=precision)
    assert rel(out["energy"], ref["energy"]) <= tol
    assert rel(out["forces"], ref["forces"]) <= tol
    if precision == "fp64":
        assert rel(out["atom_energies"], ref["atom_energies"]) <= tol
        assert rel(out["virial"], ref["virial"]) <= tol
