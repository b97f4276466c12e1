"""Trains a canonical PaiNN student (schnetpack 2.x modules, smooth at r_c) on teacher data and
exports it with the project's exporter.

Energy + force loss (forces by autograd of the predicted energy), seeded, time-boxed by the
config's `train.minutes` with a cosine learning-rate schedule; the model with the best
validation loss is kept. Test errors on the held-out split go into the model's metadata and
into <out>.metrics.json.

Usage: /usr/bin/python3 -m potentials.pipeline.train CONFIG --data potentials/data -o model.json
"""
import argparse
import json
import math
import time

import numpy as np
import torch

from weights import _schnetpack as spk
from weights.export_common import write_json
from weights.export_spk import export_schnetpack

SELECT_E_MEV = 50.0  # energy error per atom that counts as much as a force error of fscale


class Dataset:
    """Configurations of one npz split, with all-pairs-within-r_c neighbour lists (no cell)."""

    def __init__(self, path, cutoff):
        # Read each array once: indexing the lazy NpzFile in the loop below would decompress the
        # whole array for every configuration and keep a full copy alive behind every slice.
        with np.load(path) as f:
            d = {k: f[k] for k in f.files}
        self.teacher = str(d["teacher"])
        n = d["natoms"]
        start = np.concatenate([[0], np.cumsum(n)])
        self.items = []
        for k in range(len(n)):
            s = slice(start[k], start[k + 1])
            R = d["positions"][s]
            D = np.linalg.norm(R[:, None] - R[None], axis=-1)
            i, j = np.nonzero((D < cutoff) & ~np.eye(len(R), dtype=bool))
            self.items.append({"Z": d["numbers"][s], "R": R, "F": d["forces"][s],
                               "E": float(d["energy"][k]), "i": i, "j": j})

    def __len__(self):
        return len(self.items)


def collate(items, dtype, device="cpu"):
    Z, R, F, E, ii, jj, m, nat = [], [], [], [], [], [], [], []
    off = 0
    for b, it in enumerate(items):
        Z.append(it["Z"]); R.append(it["R"]); F.append(it["F"]); E.append(it["E"])
        ii.append(it["i"] + off); jj.append(it["j"] + off)
        m.append(np.full(len(it["Z"]), b)); nat.append(len(it["Z"]))
        off += len(it["Z"])
    t = lambda a, dt=torch.long: torch.as_tensor(np.concatenate(a), dtype=dt)  # noqa: E731
    b = {"Z": t(Z), "R": t(R, dtype), "F": t(F, dtype), "E": torch.tensor(E, dtype=dtype),
         "i": t(ii), "j": t(jj), "m": t(m), "n": torch.tensor(nat)}
    return {k: v.to(device) for k, v in b.items()}


class Student(torch.nn.Module):
    def __init__(self, hp, atomrefs, scale):
        super().__init__()
        rc = hp["cutoff"]
        rbf = {"gaussian": spk.snn.GaussianRBF, "bessel": spk.snn.BesselRBF}[hp["basis_kind"]]
        act = torch.nn.functional.silu
        self.rep = spk.PaiNN(hp["features"], hp["layers"], rbf(hp["basis"], rc),
                             spk.snn.CosineCutoff(rc), activation=act)
        self.aw = spk.Atomwise(hp["features"], n_layers=hp["readout_layers"], activation=act)
        self.register_buffer("atomrefs", torch.as_tensor(atomrefs))
        self.scale = scale

    def forward(self, b, create_graph):
        R = b["R"].clone().requires_grad_(True)
        P = spk.properties
        inputs = {P.Z: b["Z"], P.Rij: R[b["j"]] - R[b["i"]], P.idx_i: b["i"], P.idx_j: b["j"],
                  P.idx_m: b["m"], P.n_atoms: b["n"]}
        y = self.aw(self.rep(inputs))[self.aw.output_key]  # per molecule (Atomwise sums)
        E = self.scale * y + torch.zeros_like(y).index_add_(
            0, b["m"], self.atomrefs.to(R.dtype)[b["Z"]])
        (g,) = torch.autograd.grad(E.sum(), R, create_graph=create_graph)
        return E, -g


def reference_energies(ds):
    """Least-squares per-element energies (small ridge: a single composition is degenerate)."""
    elems = sorted({int(z) for it in ds.items for z in it["Z"]})
    A = np.array([[np.sum(it["Z"] == z) for z in elems] for it in ds.items], float)
    y = np.array([it["E"] for it in ds.items])
    coef = np.linalg.solve(A.T @ A + 1e-6 * np.eye(len(elems)), A.T @ y)
    refs = np.zeros(100)
    refs[elems] = coef
    return refs


def evaluate(model, ds, dtype, batch=64, device="cpu"):
    eE, eF, nat = [], [], []
    for k in range(0, len(ds), batch):
        b = collate(ds.items[k:k + batch], dtype, device)
        E, F = model(b, create_graph=False)
        eE += (E.detach() - b["E"]).cpu().tolist()
        eF.append((F.detach() - b["F"]).cpu().numpy())
        nat += b["n"].tolist()
    eE, eF, nat = np.array(eE), np.concatenate(eF), np.array(nat)
    return {"energy_mae_eV": float(np.abs(eE).mean()),
            "energy_mae_meV_per_atom": float(1e3 * np.abs(eE / nat).mean()),
            "force_rmse_eV_per_A": float(np.sqrt((eF ** 2).mean())),
            "force_mae_eV_per_A": float(np.abs(eF).mean()), "configurations": int(len(ds))}


def train(cfg, data_dir, log=print, device="cpu"):
    torch.manual_seed(cfg["seed"])
    rng = np.random.default_rng(cfg["seed"])
    torch.set_num_threads(max(1, torch.get_num_threads()))
    hp, tc = cfg["model"], cfg["train"]
    dtype = torch.float32
    full = Dataset(f"{data_dir}/{cfg['name']}-train.npz", hp["cutoff"])
    test = Dataset(f"{data_dir}/{cfg['name']}-test.npz", hp["cutoff"])
    perm = rng.permutation(len(full))
    nval = max(1, int(tc["validation_fraction"] * len(full)))
    val = Dataset.__new__(Dataset); val.items = [full.items[k] for k in perm[:nval]]
    trn = Dataset.__new__(Dataset); trn.items = [full.items[k] for k in perm[nval:]]
    refs = reference_energies(trn)
    fscale = float(np.sqrt(np.mean(np.concatenate([it["F"].ravel() for it in trn.items]) ** 2)))
    model = Student(hp, refs, fscale).to(dtype).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=tc["lr"])
    wF = tc["force_weight"]

    def loss_of(b, create_graph=True):
        E, F = model(b, create_graph)
        le = (((E - b["E"]) / b["n"] / fscale) ** 2).mean()
        lf = (((F - b["F"]) / fscale) ** 2).mean()
        return (1 - wF) * le + wF * lf

    budget = 60 * tc["minutes"]
    t0 = time.time()
    best, best_state, epoch, total_epochs = math.inf, None, 0, None
    while True:
        order = rng.permutation(len(trn))
        for k in range(0, len(order), tc["batch"]):
            b = collate([trn.items[q] for q in order[k:k + tc["batch"]]], dtype, device)
            opt.zero_grad()
            loss_of(b).backward()
            opt.step()
        epoch += 1
        if total_epochs is None:  # schedule length from the first epoch's duration
            total_epochs = max(2, int(budget / (time.time() - t0)))
        lr = tc["lr_final"] + 0.5 * (tc["lr"] - tc["lr_final"]) * (1 + math.cos(math.pi * epoch / total_epochs))
        for g in opt.param_groups:
            g["lr"] = lr
        v = evaluate(model, val, dtype, device=device)
        # Model selection weighs forces and energies alike: a force-dominated score (as in the
        # loss) would keep epochs whose energy offset drifted by tens of meV/atom.
        vl = (v["force_rmse_eV_per_A"] / fscale) ** 2 + (v["energy_mae_meV_per_atom"] / SELECT_E_MEV) ** 2
        if vl < best:
            best = vl
            best_state = {k: t.clone() for k, t in model.state_dict().items()}
        if epoch % 10 == 0 or epoch >= total_epochs:
            log(f"epoch {epoch}/{total_epochs}  lr {lr:.2e}  val force RMSE {v['force_rmse_eV_per_A']:.4f} eV/A"
                f"  energy MAE {v['energy_mae_meV_per_atom']:.2f} meV/atom  ({time.time() - t0:.0f} s)")
        if epoch >= total_epochs:
            break
    model.load_state_dict(best_state)
    metrics = {"test": evaluate(model, test, dtype, device=device),
               "validation": evaluate(model, val, dtype, device=device), "device": str(device),
               "epochs": epoch, "train_configurations": len(trn), "validation_configurations": len(val),
               "test_configurations": len(test), "teacher": full.teacher,
               "training_seconds": round(time.time() - t0)}
    return model, metrics


def export(model, cfg, metrics, path):
    model = model.cpu()
    rep, aw = model.rep.double(), model.aw.double()
    doc = export_schnetpack(rep, aw, cfg["elements"], 0.0, model.atomrefs.double().numpy(), model.scale,
                            source=f"potentials/pipeline (config {cfg['name']})",
                            provenance=f"PaiNN student distilled from {metrics['teacher']}")
    doc["metadata"]["training"] = {"config": cfg, "metrics": metrics}
    write_json(doc, path)
    return doc


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("--data", default="potentials/data")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--minutes", type=float, help="override train.minutes")
    ap.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    a = ap.parse_args(argv)
    cfg = json.load(open(a.config))
    if a.minutes:
        cfg["train"]["minutes"] = a.minutes
    model, metrics = train(cfg, a.data, device=a.device)
    export(model, cfg, metrics, a.output)
    with open(a.output.replace(".json", "") + ".metrics.json", "w") as f:
        json.dump(metrics, f, indent=2)
    t = metrics["test"]
    print(f"test: force RMSE {t['force_rmse_eV_per_A']:.4f} eV/A, energy MAE {t['energy_mae_eV']:.4f} eV "
          f"({t['energy_mae_meV_per_atom']:.2f} meV/atom) on {t['configurations']} configurations")


if __name__ == "__main__":
    main()
