"""Export PaiNN models to the mlff-painn weight format v1 (weights/FORMAT.md).

    /usr/bin/python3 -m weights.export INPUT -o model.json --elements C H N O [--provenance TEXT] [--check]

INPUT is detected by content: an ONNX file or a PyTorch state_dict of the mlff-distiller family,
or a schnetpack model saved whole with torch.save (PaiNN representation + Atomwise output).
User errors end with exit status 2 and one line naming what is wrong.
"""
import argparse
import hashlib
import os
import sys

import numpy as np

from weights.export_common import ExportError, species_table, write_json
from weights.export_distiller import from_onnx, from_state_dict
from weights.export_spk import export_schnetpack, from_module  # noqa: F401 (public API)


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _load_torch(path):
    import torch
    import weights._schnetpack  # noqa: F401 -- so pickled schnetpack modules can be found
    try:
        return torch.load(path, map_location="cpu")
    except Exception as e:  # pickle errors have many types
        raise ExportError(f"{path}: cannot be read by torch.load ({type(e).__name__}: {e})")


def export_file(path, elements, provenance=""):
    """Export the model in `path`; returns (document, source object for --check)."""
    if not os.path.isfile(path):
        raise ExportError(f"{path}: no such file")
    with open(path, "rb") as f:
        head = f.read(8)
    source = {"file": os.path.basename(path), "sha256": _sha256(path)}
    if head.startswith(b"PK") or head[:1] == b"\x80":  # torch.save zip or legacy pickle
        obj = _load_torch(path)
        import torch
        if isinstance(obj, torch.nn.Module):
            doc = from_module(obj, elements, dict(source, kind="schnetpack"), provenance)
        elif isinstance(obj, dict):
            doc = from_state_dict(obj, elements, dict(source, kind="state_dict"), provenance)
        else:
            raise ExportError(f"{path}: torch.save holds a {type(obj).__name__}, "
                              "expected a state_dict (dict of tensors) or an nn.Module")
        return doc, obj
    import onnx
    import warnings
    try:
        with warnings.catch_warnings():  # protobuf warns on non-ONNX bytes; we report below
            warnings.simplefilter("ignore")
            model = onnx.load(path)
    except Exception:
        model = None
    if model is None or not model.graph.initializer:
        raise ExportError(f"{path}: neither an ONNX model with initializers nor a torch.save file")
    return from_onnx(model, elements, dict(source, kind="onnx"), provenance), path


def random_molecule(elements, n=8, seed=0):
    """A small random molecule, atoms >= 0.9 A apart, for self-checks."""
    rng = np.random.default_rng(seed)
    pos = []
    while len(pos) < n:
        p = rng.uniform(0, 3.5, 3)
        if all(np.linalg.norm(p - q) > 0.9 for q in pos):
            pos.append(p)
    return [elements[k % len(elements)] for k in range(n)], np.array(pos)


def self_check(doc, source):
    """Energy of the exported file (reference.py) vs the source model on a random molecule."""
    from weights.reference import Reference
    ref = Reference(doc)
    symbols, pos = random_molecule([s["element"] for s in doc["species"]])
    e_ref = ref.evaluate(symbols, pos)["energy"]
    kind = doc["metadata"]["source"]["kind"]
    if kind == "onnx":
        from weights import onnx_tools
        numbers = [ref.species[x]["atomic_number"] for x in symbols]
        sess = onnx_tools.session(onnx_tools.load_repaired(source, float64=True))
        e_src = onnx_tools.energy(sess, numbers, pos)
        what = "ONNX Runtime (float64 copy, ScatterElements repaired to a sum)"
    elif kind == "schnetpack":
        import torch
        from weights._schnetpack import run_model
        from weights.export_spk import find_parts
        from weights.reference import neighbor_pairs
        i, j, sh = neighbor_pairs(pos, doc["hyperparameters"]["cutoff"])
        Z = torch.tensor([ref.species[x]["atomic_number"] for x in symbols])
        key = find_parts(source)[1].output_key
        e_src, _ = run_model(source.double(), Z, pos, torch.tensor(i), torch.tensor(j), sh, key)
        e_src = float(e_src)
        what = "schnetpack model forward (float64, postprocessors included)"
    else:
        print("check: a state_dict has no runnable source model; reference energy "
              f"{e_ref!r} eV on a random {len(symbols)}-atom molecule")
        return
    print(f"check: {len(symbols)}-atom random molecule: reference {e_ref!r} eV, {what} "
          f"{e_src!r} eV, |diff| {abs(e_ref - e_src):.3e} eV "
          f"(rel {abs(e_ref - e_src) / max(abs(e_src), 1e-300):.3e})")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m weights.export", description=__doc__.split("\n")[0])
    p.add_argument("input", help="ONNX file, state_dict (.pt/.pth) or whole schnetpack model")
    p.add_argument("-o", "--output", required=True, help="JSON file to write")
    p.add_argument("--elements", nargs="+", required=True, help="chemical symbols, e.g. C H N O")
    p.add_argument("--provenance", default="", help="free text: who made the model, from what")
    p.add_argument("--check", action="store_true",
                   help="compare the exported model with the source on a random molecule")
    a = p.parse_args(argv)
    try:
        species_table(a.elements, None)  # symbols first: cheapest error
        doc, source = export_file(a.input, a.elements, a.provenance)
        write_json(doc, a.output)
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    h = doc["hyperparameters"]
    print(f"wrote {a.output}: family {doc['family']}, F={h['features']}, L={h['layers']}, "
          f"K={h['radial_basis']['size']}, cutoff {h['cutoff']} A, "
          f"species {' '.join(s['element'] for s in doc['species'])}")
    for note in doc["metadata"].get("notes", []):
        print("note:", note)
    if a.check:
        try:
            self_check(doc, source)
        except Exception as e:  # the export itself succeeded; say why the check could not run
            print(f"check: could not run the source model ({type(e).__name__}: {e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
