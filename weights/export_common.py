"""Pieces shared by the exporters: errors, species table, tensors, document, JSON writer."""
import json

import numpy as np

EXPORTER = {"name": "weights.export", "version": "1.0.0"}


class ExportError(Exception):
    """A problem with the user's input; reported as one line, exit status 2."""


def species_table(elements, rows, reference_energies=None):
    """Species entries for `elements`; embedding row = atomic number (both families)."""
    from ase.data import atomic_numbers
    if not elements:
        raise ExportError("--elements: give at least one chemical symbol")
    out = []
    for sym in elements:
        z = atomic_numbers.get(sym)
        if z is None or z == 0:
            raise ExportError(f"--elements: unknown element symbol {sym!r}")
        if any(s["element"] == sym for s in out):
            raise ExportError(f"--elements: {sym} given twice")
        if rows is not None and z >= rows:
            raise ExportError(f"--elements: {sym} (Z={z}) is beyond the model's embedding "
                              f"table ({rows} rows, atomic numbers 0..{rows - 1})")
        eref = 0.0
        if reference_energies is not None:
            if z >= len(reference_energies):
                raise ExportError(f"atomrefs has {len(reference_energies)} entries, none for "
                                  f"{sym} (Z={z})")
            eref = float(reference_energies[z])
        out.append({"element": sym, "atomic_number": z, "embedding_row": z,
                    "reference_energy": eref})
    return out


def tensor(a, name="tensor"):
    a = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ExportError(f"{name}: contains NaN or infinite values")
    return {"shape": list(a.shape), "data": a.ravel().tolist()}


def document(family, hyper, species, tensors, source, provenance, notes=(), extra_meta=None):
    meta = {"source": source, "exporter": dict(EXPORTER), "provenance": provenance or ""}
    if notes:
        meta["notes"] = list(notes)
    meta.update(extra_meta or {})
    return {"format": "mlff-painn-weights", "version": 1, "family": family,
            "units": {"energy": "eV", "length": "angstrom"}, "hyperparameters": hyper,
            "species": species, "tensors": tensors, "metadata": meta}


def dumps(doc):
    """JSON text: readable header, one line per tensor. Floats use repr (exact round trip)."""
    head = {k: v for k, v in doc.items() if k != "tensors"}
    text = json.dumps(head, indent=2, allow_nan=False)
    lines = [f"    {json.dumps(k)}: {json.dumps(v, allow_nan=False, separators=(',', ':'))}"
             for k, v in doc["tensors"].items()]
    body = '  "tensors": {\n' + ",\n".join(lines) + "\n  }"
    return text[:-2] + ",\n" + body + "\n}\n"


def write_json(doc, path):
    text = dumps(doc)
    with open(path, "w") as f:
        f.write(text)
