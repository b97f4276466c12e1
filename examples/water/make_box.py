"""Writes water.data: N water molecules at 1.0 g/cm^3 in a cubic periodic box, random
orientations on a jittered grid (no close contacts). Usage: python3 make_box.py [N] [seed]"""
import sys

import numpy as np


def main(n=216, seed=7, out="water.data"):
    from ase.build import molecule
    n, seed = int(n), int(seed)
    rng = np.random.default_rng(seed)
    side = (n * 18.015 / (1.0 * 0.60221408)) ** (1 / 3)  # A at 1.0 g/cm^3
    m = int(np.ceil(n ** (1 / 3)))
    cells = (np.stack(np.meshgrid(*[np.arange(m)] * 3, indexing="ij"), -1).reshape(-1, 3) + 0.5) * side / m
    cells = cells[rng.permutation(len(cells))[:n]]
    w = molecule("H2O")
    w.positions -= w.get_center_of_mass()
    types, pos, mol = [], [], []
    for k, c in enumerate(cells):
        q = w.copy()
        q.rotate(rng.uniform(0, 360), rng.normal(size=3))
        for s, p in zip(q.get_chemical_symbols(), q.positions + c + rng.uniform(-0.15, 0.15, 3)):
            types.append(1 if s == "O" else 2)
            pos.append(p % side)
            mol.append(k + 1)
    lines = [f"{n} water molecules, 1.0 g/cm^3 (examples/water/make_box.py, seed {seed})", "",
             f"{len(pos)} atoms", "2 atom types", "",
             f"0 {side:.10f} xlo xhi", f"0 {side:.10f} ylo yhi", f"0 {side:.10f} zlo zhi", "",
             "Masses", "", "1 15.999", "2 1.008", "", "Atoms # atomic", ""]
    lines += [f"{i + 1} {t} {p[0]:.8f} {p[1]:.8f} {p[2]:.8f}" for i, (t, p) in enumerate(zip(types, pos))]
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {out}: {n} molecules, {len(pos)} atoms, box {side:.4f} A")


if __name__ == "__main__":
    main(*sys.argv[1:])
