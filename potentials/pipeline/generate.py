"""Seeded, reproducible training/test data from the GFN2-xTB teacher.

For each system of a config: optimise with the teacher, run teacher Langevin MD at several
temperatures (frames every `every` steps after a short equilibration) and add random Cartesian
displacements of the optimised structure; held-out test frames come from separate MD runs at
other temperatures and seeds. Writes <out>/<name>-{train,test}.npz (compressed).

Usage: /usr/bin/python3 -m potentials.pipeline.generate potentials/pipeline/configs/X.json
"""
import argparse
import json
import os
import time

import numpy as np

from . import systems, teacher


def _md_frames(atoms, temperature, steps, every, dt_fs, friction, seed, equil=200):
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary, ZeroRotation

    atoms = atoms.copy()
    atoms.calc = teacher.TeacherCalculator()
    rng = np.random.default_rng(seed)
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature, rng=rng)
    Stationary(atoms)
    ZeroRotation(atoms)
    dyn = Langevin(atoms, dt_fs * units.fs, temperature_K=temperature, friction=friction,
                   rng=rng)
    dyn.run(equil)
    frames = []
    for _ in range(steps // every):
        dyn.run(every)
        frames.append(atoms.positions.copy())
    return frames


def _label(numbers, frames):
    E, F = [], []
    for pos in frames:
        e, f = teacher.energy_forces(numbers, pos)
        E.append(e)
        F.append(f)
    return np.array(E), np.array(F)


def build(config, out):
    cfg = json.load(open(config))
    os.makedirs(out, exist_ok=True)
    seed = cfg["seed"]
    result = {}
    for split in ("train", "test"):
        numbers_all, pos_all, E_all, F_all, natoms = [], [], [], [], []
        for k, sysdef in enumerate(cfg["systems"]):
            atoms = systems.build(sysdef, seed + k)
            atoms = systems.optimise(atoms)
            frames = []
            spec = cfg["md"] if split == "train" else cfg["test"]
            for t, T in enumerate(spec["temperatures"]):
                s = seed * 1000 + k * 100 + t + (0 if split == "train" else 50)
                frames += _md_frames(atoms, T, spec["steps"], spec["every"], spec.get("timestep_fs", 0.5),
                                     spec.get("friction", 0.02), s)
            if split == "train" and "displacements" in cfg:
                rng = np.random.default_rng(seed * 7 + k)
                for sigma in cfg["displacements"]["sigmas"]:
                    for _ in range(cfg["displacements"]["count"]):
                        frames.append(atoms.positions + rng.normal(0, sigma, atoms.positions.shape))
            E, F = _label(atoms.numbers, frames)
            for p, e, f in zip(frames, E, F):
                numbers_all.append(atoms.numbers)
                pos_all.append(p)
                E_all.append(e)
                F_all.append(f)
                natoms.append(len(atoms))
        path = os.path.join(out, f"{cfg['name']}-{split}.npz")
        np.savez_compressed(path, natoms=np.array(natoms), numbers=np.concatenate(numbers_all),
                            positions=np.concatenate(pos_all), energy=np.array(E_all),
                            forces=np.concatenate(F_all), teacher=teacher.label())
        result[split] = (path, len(E_all))
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config")
    ap.add_argument("--out", default="potentials/data")
    a = ap.parse_args(argv)
    t0 = time.time()
    for split, (path, n) in build(a.config, a.out).items():
        print(f"{split}: {n} configurations -> {path}")
    print(f"teacher: {teacher.label()}, {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
