"""Writes the fuzzer's seed corpus (corpus/) and the loader's regression inputs (regressions/).
Seeds are tiny valid format-v1 models of both families and every option (basis, activation,
shared filters/interactions), 2 to 5 KB each, so that mutations stay fast.
Run from anywhere: python3 unittest/fuzz/make_seeds.py
test_loader checks that every seed loads and that every regression input is rejected; the
fuzz test replays both directories on every run."""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SPECIES = [("H", 1, -0.5), ("C", 6, -1.25), ("O", 8, -2.0)]


def tensor(shape, k):
    n = 1
    for d in shape:
        n *= d
    # Short, varied numbers (integers, decimals, exponents) so the mutator sees each form.
    vals = [0.5, -0.25, 1e-3, -1.5e1, 0.125, 2, -0.0625]
    return {"shape": list(shape), "data": [vals[(k + i) % len(vals)] for i in range(n)]}


def model(family, F=2, L=1, K=2, basis="gaussian", act="silu", sf=False, si=False, hidden=2):
    rb = {"type": basis, "size": K}
    if basis == "gaussian":
        rb.update(centers=[4.0 * i / K for i in range(K)], gammas=[0.5] * K)
    else:
        rb["frequencies"] = [3.14159 * (i + 1) / 4.0 for i in range(K)]
    readout = [F, 1] if F == 1 else [F, max(1, F // 2), 1]
    h = {"features": F, "layers": L, "cutoff": 4.0, "cutoff_function": "cosine",
         "radial_basis": rb, "activation": act,
         "norm_epsilon": 1e-8 if family == "painn" else 0.0,
         "direction_epsilon": 0.0 if family == "painn" else 1e-8,
         "shared_filters": sf, "shared_interactions": si, "readout": readout,
         "energy_scale": 1.0, "energy_shift": -0.5}
    t, k = {}, 0

    def add(name, shape):
        nonlocal k
        t[name] = tensor(shape, k)
        k += 1

    add("embedding.weight", [9, F])
    for i in range(len(readout) - 1):
        add(f"readout.{i}.weight", [readout[i + 1], readout[i]])
        add(f"readout.{i}.bias", [readout[i + 1]])
    if family == "painn":
        nf, nb = (1 if sf else L), (1 if si else L)
        add("filter_net.weight", [3 * F * nf, K])
        add("filter_net.bias", [3 * F * nf])
        for l in range(nb):
            pi, pm = f"interactions.{l}.context.", f"mixing.{l}."
            add(pi + "0.weight", [F, F]); add(pi + "0.bias", [F])
            add(pi + "1.weight", [3 * F, F]); add(pi + "1.bias", [3 * F])
            add(pm + "channel_mix.weight", [2 * F, F])
            add(pm + "context.0.weight", [F, 2 * F]); add(pm + "context.0.bias", [F])
            add(pm + "context.1.weight", [3 * F, F]); add(pm + "context.1.bias", [3 * F])
    else:
        for l in range(L):
            p = f"interactions.{l}."
            add(p + "filter.0.weight", [hidden, K]); add(p + "filter.0.bias", [hidden])
            add(p + "filter.1.weight", [3 * F, hidden]); add(p + "filter.1.bias", [3 * F])
            add(p + "update.0.weight", [hidden, 2 * F]); add(p + "update.0.bias", [hidden])
            add(p + "update.1.weight", [3 * F, hidden]); add(p + "update.1.bias", [3 * F])
            add(p + "mixing_matrix", [3, 3])
    return {"format": "mlff-painn-weights", "version": 1, "family": family,
            "units": {"energy": "eV", "length": "angstrom"}, "hyperparameters": h,
            "species": [{"element": e, "atomic_number": z, "embedding_row": z if z < 9 else 0,
                         "reference_energy": r} for e, z, r in SPECIES],
            "tensors": t, "metadata": {"provenance": "fuzz seed", "source_sha256": "00ff"}}


SEEDS = {
    "painn_gaussian_silu.json": (model("painn"), None),
    "painn_bessel_ssp_shared.json": (model("painn", L=2, basis="bessel", act="shifted_softplus",
                                           sf=True, si=True), 1),
    "painn_f1_l2.json": (model("painn", F=1, L=2, K=1), 2),
    "distiller_gaussian.json": (model("mlff-distiller"), None),
    "distiller_bessel_l2.json": (model("mlff-distiller", L=2, basis="bessel", hidden=3), 1),
}



def shape_product_overflow():
    # 4 * (2**62 + 9) wraps around to 36 = 9 * 4 in 64 bits: the loader used to accept this
    # shape with 36 numbers, and the engine would then read embedding rows far beyond them.
    d = model("painn", F=4)
    d["tensors"]["embedding.weight"]["shape"] = [2**62 + 9, 4]
    d["species"][1]["embedding_row"] = 1000
    return d


def readout_width_truncated():
    # 2**32 + 1 used to be truncated to an int width of 1 and accepted.
    d = model("painn", F=2)
    d["hyperparameters"]["readout"] = [2, 2**32 + 1, 1]
    d["tensors"]["readout.0.weight"] = {"shape": [1, 2], "data": [0.1, 0.2]}
    d["tensors"]["readout.0.bias"] = {"shape": [1], "data": [0.1]}
    d["tensors"]["readout.1.weight"] = {"shape": [1, 1], "data": [0.1]}
    return d


REGRESSIONS = {
    "shape_product_overflow.json": shape_product_overflow(),
    "readout_width_truncated.json": readout_width_truncated(),
}

if __name__ == "__main__":
    out = os.path.join(HERE, "corpus")
    os.makedirs(out, exist_ok=True)
    for name, (doc, indent) in SEEDS.items():
        with open(os.path.join(out, name), "w") as f:
            json.dump(doc, f, indent=indent)
            f.write("\n")
    reg = os.path.join(HERE, "regressions")
    os.makedirs(reg, exist_ok=True)
    for name, doc in REGRESSIONS.items():
        with open(os.path.join(reg, name), "w") as f:
            json.dump(doc, f)
            f.write("\n")
    print(f"wrote {len(SEEDS)} seeds to {out} and {len(REGRESSIONS)} inputs to {reg}")
