"""Cross-field rules of FORMAT.md that JSON Schema cannot express (shapes against F, K, L, ...).

    python3 -m weights.validate model.json     # prints problems, exit 1 if any
"""
import json
import sys


def expected_shapes(doc):
    """name -> shape of every tensor the document must hold, from its hyperparameters."""
    h = doc["hyperparameters"]
    F, L, K, ro = h["features"], h["layers"], h["radial_basis"]["size"], h["readout"]
    rows = doc["tensors"].get("embedding.weight", {}).get("shape", [0])[0]
    out = {"embedding.weight": [rows, F]}
    for k in range(len(ro) - 1):
        out[f"readout.{k}.weight"], out[f"readout.{k}.bias"] = [ro[k + 1], ro[k]], [ro[k + 1]]
    t = doc["tensors"]
    if doc["family"] == "painn":
        n_f = 1 if h["shared_filters"] else L
        n_b = 1 if h["shared_interactions"] else L
        out["filter_net.weight"], out["filter_net.bias"] = [3 * F * n_f, K], [3 * F * n_f]
        for l in range(n_b):
            for pre, n_in in ((f"interactions.{l}.context", F), (f"mixing.{l}.context", 2 * F)):
                out[pre + ".0.weight"], out[pre + ".0.bias"] = [F, n_in], [F]
                out[pre + ".1.weight"], out[pre + ".1.bias"] = [3 * F, F], [3 * F]
            out[f"mixing.{l}.channel_mix.weight"] = [2 * F, F]
    else:
        for l in range(L):
            for part, n_in in (("filter", K), ("update", 2 * F)):
                pre = f"interactions.{l}.{part}"
                hid = t.get(pre + ".0.weight", {}).get("shape", [0])[0]
                out[pre + ".0.weight"], out[pre + ".0.bias"] = [hid, n_in], [hid]
                out[pre + ".1.weight"], out[pre + ".1.bias"] = [3 * F, hid], [3 * F]
            out[f"interactions.{l}.mixing_matrix"] = [3, 3]
    return out


def problems(doc):
    from ase.data import atomic_numbers
    errs = []
    h = doc["hyperparameters"]
    rb = h["radial_basis"]
    for key in ("centers", "gammas", "frequencies"):
        if key in rb and len(rb[key]) != rb["size"]:
            errs.append(f"radial_basis.{key} has {len(rb[key])} entries, size is {rb['size']}")
    if h["readout"][0] != h["features"] or h["readout"][-1] != 1:
        errs.append(f"readout {h['readout']} must start with F={h['features']} and end with 1")
    if doc["family"] == "mlff-distiller" and (h["shared_filters"] or h["shared_interactions"]):
        errs.append("mlff-distiller cannot share filters or interactions")
    want = expected_shapes(doc)
    for name in sorted(set(want) | set(doc["tensors"])):
        if name not in doc["tensors"]:
            errs.append(f"missing tensor {name}")
        elif name not in want:
            errs.append(f"unexpected tensor {name}")
        else:
            tn = doc["tensors"][name]
            if tn["shape"] != want[name]:
                errs.append(f'tensors["{name}"].shape is {tn["shape"]}, expected {want[name]}')
            n = 1
            for s in tn["shape"]:
                n *= s
            if len(tn["data"]) != n:
                errs.append(f'tensors["{name}"].data has {len(tn["data"])} values, expected {n}')
    rows = want["embedding.weight"][0]
    seen = set()
    for s in doc["species"]:
        if atomic_numbers.get(s["element"]) != s["atomic_number"]:
            errs.append(f"species {s['element']}: atomic_number {s['atomic_number']} is wrong")
        if not 0 <= s["embedding_row"] < rows:
            errs.append(f"species {s['element']}: embedding_row {s['embedding_row']} not < {rows}")
        if s["element"] in seen or s["atomic_number"] in seen:
            errs.append(f"species {s['element']} given twice")
        seen |= {s["element"], s["atomic_number"]}
    return errs


if __name__ == "__main__":
    bad = 0
    for path in sys.argv[1:]:
        with open(path) as f:
            for p in problems(json.load(f)):
                print(f"{path}: {p}")
                bad = 1
    sys.exit(bad)
