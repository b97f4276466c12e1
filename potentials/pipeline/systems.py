"""Starting structures of the distillation systems (before teacher optimisation)."""
import numpy as np


def benzene():
    from ase import Atoms
    a = np.arange(6) * np.pi / 3
    ring = lambda r: np.stack([r * np.cos(a), r * np.sin(a), 0 * a], 1)  # noqa: E731
    return Atoms("C6H6", positions=np.concatenate([ring(1.39), ring(2.48)]))


def g2(name):
    from ase.build import molecule
    return molecule(name)


def water_cluster(n, seed, density=0.9):
    """n water molecules at random orientations on a jittered grid (no close contacts)."""
    from ase import Atoms
    from ase.build import molecule
    rng = np.random.default_rng(seed)
    side = (n * 18.015 / (density * 0.6022)) ** (1 / 3)  # A, liquid-like density
    m = int(np.ceil(n ** (1 / 3)))
    grid = (np.stack(np.meshgrid(*[np.arange(m)] * 3), -1).reshape(-1, 3) + 0.5) * side / m
    grid = grid[rng.permutation(len(grid))[:n]]
    atoms = Atoms()
    w = molecule("H2O")
    for c in grid:
        q = w.copy()
        q.rotate(rng.uniform(0, 360), rng.normal(size=3))
        q.positions += c + rng.uniform(-0.2, 0.2, 3) - q.get_center_of_mass()
        atoms += q
    return atoms


def build(sysdef, seed):
    kind = sysdef["kind"]
    if kind == "benzene":
        return benzene()
    if kind == "g2":
        return g2(sysdef["molecule"])
    if kind == "water_cluster":
        return water_cluster(sysdef["n"], seed)
    raise ValueError(f"unknown system kind {kind!r}")


def optimise(atoms, fmax=0.02, steps=300):
    from ase.optimize import BFGS
    from . import teacher
    atoms = atoms.copy()
    atoms.calc = teacher.TeacherCalculator()
    BFGS(atoms, logfile=None).run(fmax=fmax, steps=steps)
    return atoms
