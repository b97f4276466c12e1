"""Benchmark configurations, written once and read by both benchmarks (C++ engine, PyTorch).

A .sys file (little-endian): int64 n, int64 periodic (0/1), float64 box[3] (orthorhombic,
[0, box) when periodic), float64 positions[n][3], int32 atomic numbers[n].

Systems: gas-phase benzene (12 atoms, the main job's molecule) and liquid-water boxes of rigid
TIP3P-like molecules on a jittered cubic lattice at 1 g/cm^3 (0.1 atoms/A^3, about 50
neighbours within 5 A), randomly oriented, seeded.

    python3 bench/systems.py OUTDIR [--atoms 1000 10000 ...]
"""
import argparse
import os

import numpy as np

BENZENE = os.path.join(os.path.dirname(__file__), "..", "examples", "benzene", "benzene.data")
SPACING = 30.0 ** (1.0 / 3.0)  # A: one molecule per 30 A^3 (1 g/cm^3)


def write_sys(path, positions, numbers, box=None):
    positions = np.ascontiguousarray(positions, dtype="<f8")
    with open(path, "wb") as f:
        np.array([len(numbers), box is not None], dtype="<i8").tofile(f)
        np.array(box if box is not None else [0.0, 0.0, 0.0], dtype="<f8").tofile(f)
        positions.tofile(f)
        np.asarray(numbers, dtype="<i4").tofile(f)


def read_sys(path):
    with open(path, "rb") as f:
        n, periodic = np.fromfile(f, "<i8", 2)
        box = np.fromfile(f, "<f8", 3)
        x = np.fromfile(f, "<f8", 3 * n).reshape(n, 3)
        z = np.fromfile(f, "<i4", n)
    return x, z, (box if periodic else None)


def benzene():
    rows = []
    with open(BENZENE) as f:
        lines = f.read().split("Atoms")[1].splitlines()
    for line in lines:
        parts = line.split()
        if len(parts) == 5:
            rows.append([float(v) for v in parts[2:]] + [6 if parts[1] == "1" else 1])
    a = np.array(rows)
    return a[:, :3], a[:, 3].astype(int)


def water_box(atoms, seed=0):
    """About `atoms` atoms: m^3 molecules with 3 m^3 closest to the request."""
    m = max(3, round((atoms / 3) ** (1.0 / 3.0)))
    rng = np.random.default_rng(seed)
    oh, ang = 0.9572, np.radians(104.52)
    local = np.array([[0, 0, 0], [oh, 0, 0], [oh * np.cos(ang), oh * np.sin(ang), 0]])
    grid = np.stack(np.meshgrid(*[np.arange(m)] * 3, indexing="ij"), -1).reshape(-1, 3)
    centres = (grid + 0.5 + rng.uniform(-0.05, 0.05, grid.shape)) * SPACING
    q = rng.normal(size=(len(grid), 4))  # random rotations from normalised quaternions
    q /= np.linalg.norm(q, axis=1)[:, None]
    w, x, y, z = q.T
    R = np.stack([np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
                  np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
                  np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1)], 1)
    pos = centres[:, None, :] + np.einsum("mab,kb->mka", R, local)
    box = np.full(3, m * SPACING)
    pos = np.mod(pos.reshape(-1, 3), box)
    numbers = np.tile([8, 1, 1], len(grid))
    return pos, numbers, box


def main():
    p = argparse.ArgumentParser()
    p.add_argument("outdir")
    p.add_argument("--atoms", type=int, nargs="*", default=[1000, 10000, 100000, 1000000])
    a = p.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    x, z = benzene()
    write_sys(os.path.join(a.outdir, "benzene.sys"), x, z)
    for n in a.atoms:
        x, z, box = water_box(n)
        write_sys(os.path.join(a.outdir, f"water{n}.sys"), x, z, box)
        print(f"water{n}.sys: {len(z)} atoms, box {box[0]:.2f} A")


if __name__ == "__main__":
    main()
