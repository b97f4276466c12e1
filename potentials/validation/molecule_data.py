"""LAMMPS data file (atom_style atomic, non-periodic box) of a molecule from ASE's G2 set, for
the NVE validation of a shipped model with examples/benzene/in.nve (see VALIDATION.md).

    /usr/bin/python3 potentials/validation/molecule_data.py C5H5N pyridine.data --elements C H N
"""
import argparse

from ase.build import molecule
from ase.data import atomic_masses, atomic_numbers


def main():
    p = argparse.ArgumentParser()
    p.add_argument("name", help="G2 molecule name, e.g. C5H5N")
    p.add_argument("out")
    p.add_argument("--elements", nargs="+", required=True, help="atom types in order")
    a = p.parse_args()
    mol = molecule(a.name)
    x = mol.positions - mol.positions.mean(axis=0)
    sym = mol.get_chemical_symbols()
    missing = sorted(set(sym) - set(a.elements))
    if missing:
        raise SystemExit(f"elements {missing} of {a.name} are not among --elements")
    lines = [f"{a.name} from ASE's G2 set (A); non-periodic box", "", f"{len(sym)} atoms",
             f"{len(a.elements)} atom types", ""]
    lines += [f"{-20.0} {20.0} {ax}lo {ax}hi" for ax in "xyz"]
    lines += ["", "Masses", ""]
    lines += [f"{t + 1} {atomic_masses[atomic_numbers[e]]:.3f}" for t, e in enumerate(a.elements)]
    lines += ["", "Atoms # atomic", ""]
    lines += [f"{i + 1} {a.elements.index(s) + 1} {p[0]:.10f} {p[1]:.10f} {p[2]:.10f}"
              for i, (s, p) in enumerate(zip(sym, x))]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
