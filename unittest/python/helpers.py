"""Test helpers: structures, the engine CLI, relative errors."""
import json
import os
import subprocess
import tempfile

import numpy as np

from weights.export_common import write_json


def rel(x, ref):
    """||x - ref|| / ||ref|| (absolute value for scalars)."""
    x, ref = np.asarray(x, float), np.asarray(ref, float)
    return float(np.linalg.norm(x - ref) / max(np.linalg.norm(ref), 1e-300))


def random_cluster(rng, symbols, box=4.0, dmin=0.95):
    pos = []
    while len(pos) < len(symbols):
        p = rng.uniform(0, box, 3)
        if all(np.linalg.norm(p - q) > dmin for q in pos):
            pos.append(p)
    return list(symbols), np.array(pos)


def random_cell(rng, symbols, dmin=1.0):
    """A skewed periodic cell of ~6-7 A with atoms given partly outside it (wrapping matters)."""
    cell = np.diag(rng.uniform(5.5, 7.0, 3)) + rng.uniform(-0.8, 0.8, (3, 3)) * (1 - np.eye(3))
    pos = []
    while len(pos) < len(symbols):
        f = rng.uniform(0, 1, 3)
        p = f @ cell
        ok = True
        for q in pos:  # minimum-image distance over the 27 nearest images
            for n in np.ndindex(3, 3, 3):
                if np.linalg.norm(p - q + (np.array(n) - 1) @ cell) < dmin:
                    ok = False
        if ok:
            pos.append(p)
    pos = np.array(pos) + rng.integers(-1, 2, (len(pos), 1)) * cell[0]  # some atoms outside
    return list(symbols), pos, cell


def hexylamine():
    """n-hexylamine C6H15N (22 atoms): zig-zag backbone, tetrahedral-ish hydrogens."""
    heavy = ["C"] * 6 + ["N"]
    sym, pos = [], []
    for k, el in enumerate(heavy):
        up = k % 2
        x = np.array([1.26 * k, 0.87 * up, 0.0])
        sym.append(el)
        pos.append(x)
        away = np.array([0.0, 0.63 if up else -0.63, 0.0])
        for sz in (1, -1):
            sym.append("H")
            pos.append(x + away + [0, 0, 0.89 * sz])
        if k == 0:  # methyl: third H points back along the chain
            sym.append("H")
            pos.append(x + [-1.03, -0.36, 0.0])
    return sym, np.array(pos)


def write_structure(path, symbols, positions, cell=None, pbc=None):
    doc = {"symbols": list(symbols), "positions": np.asarray(positions, float).tolist(),
           "cell": None if cell is None else np.asarray(cell, float).tolist()}
    if cell is not None:
        doc["pbc"] = [True, True, True] if pbc is None else [bool(b) for b in pbc]
    with open(path, "w") as f:
        json.dump(doc, f)


def run_engine(engine, model, symbols, positions, cell=None, pbc=None, precision="fp64"):
    """Run the engine CLI; `model` is a JSON path or a document. Returns its JSON output."""
    with tempfile.TemporaryDirectory() as tmp:
        if isinstance(model, dict):
            path = os.path.join(tmp, "model.json")
            write_json(model, path)
            model = path
        spath = os.path.join(tmp, "structure.json")
        write_structure(spath, symbols, positions, cell, pbc)
        r = subprocess.run([engine, "--model", model, "--structure", spath,
                            "--precision", precision], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"engine failed ({r.returncode}): {r.stderr.strip()}"
    out = json.loads(r.stdout)
    for k in ("energy", "atom_energies", "forces", "virial"):
        assert k in out, f"engine output lacks {k!r}"
    return out
