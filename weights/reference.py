"""Float64 PyTorch reference of both model families, read from a format-v1 JSON document.

Independent of schnetpack and ONNX: it follows weights/FORMAT.md literally, so it checks the
exporters (against the source models) and the C++ engine (against this). Forces come from
autograd; the virial is W = -sum_edges r_ij (x) dE/dr_ij, ordered [xx, yy, zz, xy, xz, yz].

    from weights.reference import Reference
    ref = Reference.from_file("model.json")
    out = ref.evaluate(["C", "H"], positions, cell=None)   # energy, atom_energies, forces, virial
"""
import json
import math

import numpy as np
import torch

DT = torch.float64


def neighbor_pairs(positions, cutoff, cell=None, pbc=None):
    """All directed pairs (i receives from j) with |r_j + shift - r_i| <= cutoff.

    Returns idx_i, idx_j (int arrays) and shifts (float [E, 3], Cartesian image offsets).
    Positions are wrapped into the cell only to bound the image search; the shifts refer to
    the positions as given.
    """
    R = np.asarray(positions, dtype=np.float64)
    n = len(R)
    if cell is None:
        pbc = np.zeros(3, bool)
        cell = np.eye(3)
    cell = np.asarray(cell, dtype=np.float64)
    pbc = np.ones(3, bool) if pbc is None else np.asarray(pbc, bool)
    wrap = np.zeros((n, 3))
    nmax = np.zeros(3, int)
    if pbc.any():
        frac = R @ np.linalg.inv(cell)
        wrap = np.where(pbc, np.floor(frac), 0.0)
        volume = abs(np.linalg.det(cell))
        for k in range(3):
            if pbc[k]:
                a, b = cell[(k + 1) % 3], cell[(k + 2) % 3]
                spacing = volume / np.linalg.norm(np.cross(a, b))
                nmax[k] = int(math.ceil(cutoff / spacing))
    Rw = R - wrap @ cell
    ii, jj, ss = [], [], []
    rng = [range(-m, m + 1) for m in nmax]
    for n0 in rng[0]:
        for n1 in rng[1]:
            for n2 in rng[2]:
                img = np.array([n0, n1, n2], dtype=np.float64)
                d = Rw[None, :, :] + img @ cell - Rw[:, None, :]
                dist = np.linalg.norm(d, axis=2)
                mask = dist <= cutoff
                if n0 == n1 == n2 == 0:
                    np.fill_diagonal(mask, False)
                i, j = np.nonzero(mask)
                ii.append(i)
                jj.append(j)
                # shift in the frame of the unwrapped positions
                ss.append((img[None, :] - wrap[j] + wrap[i]) @ cell)
    idx_i = np.concatenate(ii)
    idx_j = np.concatenate(jj)
    shifts = np.concatenate(ss) if ss else np.zeros((0, 3))
    return idx_i, idx_j, shifts


class Reference:
    """dtype and device are float64 on the CPU for checking; the benchmarks (bench/) run the
    same code in float32 on a GPU."""

    def __init__(self, doc, dtype=DT, device="cpu"):
        if doc.get("format") != "mlff-painn-weights" or doc.get("version") != 1:
            raise ValueError("not a mlff-painn-weights v1 document")
        self.doc = doc
        self.dt, self.dev = dtype, device
        self.family = doc["family"]
        self.h = doc["hyperparameters"]
        self.t = {k: self.tensor(v["data"]).reshape(v["shape"]) for k, v in doc["tensors"].items()}
        self.species = {s["element"]: s for s in doc["species"]}

    @classmethod
    def from_file(cls, path, dtype=DT, device="cpu"):
        with open(path) as f:
            return cls(json.load(f), dtype, device)

    def tensor(self, data):
        return torch.tensor(data, dtype=self.dt, device=self.dev)

    # --- building blocks -------------------------------------------------------------------
    def act(self, x):
        if self.h["activation"] == "silu":
            return x * torch.sigmoid(x)
        return torch.nn.functional.softplus(x) - math.log(2.0)

    def dense(self, name, x):
        return x @ self.t[name + ".weight"].T + self.t[name + ".bias"]

    def mlp2(self, name, x):
        return self.dense(name + ".1", self.act(self.dense(name + ".0", x)))

    def rbf(self, d):
        rb = self.h["radial_basis"]
        if rb["type"] == "gaussian":
            mu = self.tensor(rb["centers"])
            gamma = self.tensor(rb["gammas"])
            return torch.exp(-gamma * (d[:, None] - mu) ** 2)
        w = self.tensor(rb["frequencies"])
        return torch.sin(d[:, None] * w) / d[:, None]

    def fcut(self, d):
        rc = self.h["cutoff"]
        return 0.5 * (torch.cos(d * math.pi / rc) + 1.0) * (d < rc).to(self.dt)

    @staticmethod
    def norm3(v, eps):
        """sqrt(sum_xyz v^2 + eps) with gradient 0 where the argument is 0 (eps = 0, v = 0)."""
        sq = (v * v).sum(dim=1) + eps
        pos = sq > 0
        return torch.where(pos, torch.sqrt(torch.where(pos, sq, torch.ones_like(sq))),
                           torch.zeros_like(sq))

    # --- the two families ------------------------------------------------------------------
    def _painn(self, s, Rij, d, i, j, n):
        F, L, h = self.h["features"], self.h["layers"], self.h
        rhat = Rij / (d + h["direction_epsilon"])[:, None]
        filt = self.dense("filter_net", self.rbf(d)) * self.fcut(d)[:, None]
        v = torch.zeros(n, 3, F, dtype=self.dt, device=self.dev)
        for l in range(L):
            lf = 0 if h["shared_filters"] else l
            lb = 0 if h["shared_interactions"] else l
            W = filt[:, 3 * F * lf:3 * F * (lf + 1)]
            x = self.mlp2(f"interactions.{lb}.context", s)[j] * W
            xs, xR, xv = torch.split(x, F, dim=1)
            s = s + torch.zeros_like(s).index_add(0, i, xs)
            dv = xR[:, None, :] * rhat[:, :, None] + xv[:, None, :] * v[j]
            v = v + torch.zeros_like(v).index_add(0, i, dv)
            mix = v @ self.t[f"mixing.{lb}.channel_mix.weight"].T
            V, Wv = torch.split(mix, F, dim=2)
            nrm = self.norm3(V, h["norm_epsilon"])
            a, b, c = torch.split(self.mlp2(f"mixing.{lb}.context", torch.cat([s, nrm], 1)), F, 1)
            s = s + a + c * (V * Wv).sum(dim=1)
            v = v + b[:, None, :] * Wv
        return s

    def _distiller(self, s, Rij, d, i, j, n, aggregate="sum"):
        F, L, h = self.h["features"], self.h["layers"], self.h
        rhat = Rij / (d + h["direction_epsilon"])[:, None]
        e = self.rbf(d) * self.fcut(d)[:, None]
        v = torch.zeros(n, 3, F, dtype=self.dt, device=self.dev)
        if aggregate == "last":
            # emulate ONNX ScatterElements without reduction: for each receiver, the edge
            # written last wins; edges are ordered by (sender, receiver) as NonZero yields them
            order = sorted(range(len(i)), key=lambda e_: (int(j[e_]), int(i[e_])))
            last = {int(i[e_]): e_ for e_ in order}
            keep = torch.tensor(sorted(last.values()), dtype=torch.long)

        def gather_sum(msg, like):
            if aggregate == "sum":
                return torch.zeros_like(like).index_add(0, i, msg)
            out = torch.zeros_like(like)
            out[i[keep]] = msg[keep]
            return out

        for l in range(L):
            ps, p1, p2 = torch.split(self.mlp2(f"interactions.{l}.filter", e), F, dim=1)
            s_new = s + gather_sum(s[j] * ps, s)
            dv = v[j] * p1[:, None, :] + rhat[:, :, None] * p2[:, None, :]
            v_new = v + gather_sum(dv, v)
            nrm = self.norm3(v_new, h["norm_epsilon"])
            a, g1, g2 = torch.split(self.mlp2(f"interactions.{l}.update",
                                              torch.cat([s_new, nrm], 1)), F, 1)
            s = s_new + a
            M = self.t[f"interactions.{l}.mixing_matrix"]
            v = v_new * g1[:, None, :] + torch.einsum("ab,nbf->naf", M, v_new) * g2[:, None, :]
        return s

    def readout(self, s):
        nl = len(self.h["readout"]) - 1
        for k in range(nl):
            s = self.dense(f"readout.{k}", s)
            if k < nl - 1:
                s = self.act(s)
        return s[:, 0]

    # --- public ----------------------------------------------------------------------------
    def atom_energies(self, rows, eref, Rij, i, j, aggregate="sum"):
        """Per-atom energies (differentiable in Rij) of atoms with embedding rows `rows` and
        reference energies `eref`, from the edge vectors Rij of receivers i and senders j."""
        d = torch.linalg.norm(Rij, dim=1)
        s = self.t["embedding.weight"][rows]
        if self.family == "painn":
            s = self._painn(s, Rij, d, i, j, len(rows))
        else:
            s = self._distiller(s, Rij, d, i, j, len(rows), aggregate)
        return self.h["energy_scale"] * self.readout(s) + self.h["energy_shift"] + eref

    def evaluate(self, symbols, positions, cell=None, pbc=None, aggregate="sum"):
        """Energy (eV), per-atom energies, forces (eV/A) and virial of one structure.

        aggregate="last" is only for documenting the seed ONNX defect (mlff-distiller only).
        """
        for sym in symbols:
            if sym not in self.species:
                raise ValueError(f"element {sym!r} is not in the model's species table")
        rows = torch.tensor([self.species[x]["embedding_row"] for x in symbols])
        eref = torch.tensor([self.species[x]["reference_energy"] for x in symbols], dtype=DT)
        i, j, sh = neighbor_pairs(positions, self.h["cutoff"], cell, pbc)
        i, j = torch.as_tensor(i, dtype=torch.long), torch.as_tensor(j, dtype=torch.long)
        R = torch.tensor(np.asarray(positions, np.float64), dtype=DT, requires_grad=True)
        Rij = R[j] - R[i] + torch.as_tensor(sh, dtype=DT)
        Rij.retain_grad()
        Ei = self.atom_energies(rows, eref, Rij, i, j, aggregate)
        E = Ei.sum()
        if E.requires_grad:  # false only without edges
            E.backward()
        G = Rij.grad if Rij.grad is not None else torch.zeros_like(Rij)
        W = -(Rij.detach().T @ G)
        return {
            "energy": float(E),
            "atom_energies": Ei.detach().numpy(),
            "forces": -R.grad.numpy() if R.grad is not None else np.zeros((len(symbols), 3)),
            "virial": np.array([W[0, 0], W[1, 1], W[2, 2], W[0, 1], W[0, 2], W[1, 2]]),
            "n_edges": len(i),
        }


def main(argv=None):
    """Same command line and output as the engine's mlff_painn_eval (always float64)."""
    import argparse
    import sys
    p = argparse.ArgumentParser(prog="python3 -m weights.reference")
    p.add_argument("--model", required=True)
    p.add_argument("--structure", required=True)
    p.add_argument("--precision", default="fp64", choices=["fp64", "fp32", "mixed"],
                   help="accepted for compatibility; the reference is always float64")
    a = p.parse_args(argv)
    try:
        ref = Reference.from_file(a.model)
        with open(a.structure) as f:
            st = json.load(f)
        out = ref.evaluate(st["symbols"], st["positions"], st.get("cell"), st.get("pbc"))
    except (OSError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"energy": out["energy"], "atom_energies": out["atom_energies"].tolist(),
                      "forces": out["forces"].tolist(), "virial": out["virial"].tolist(),
                      "warnings": []}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
