"""Did an MD run break or form bonds? Compares the covalent bond graph of two LAMMPS data files
(atom_style atomic, same atoms), e.g. the input and the `write_data` at the end of an NVE run.
A bond is a pair closer than 1.25 x the sum of covalent radii (periodic boxes: minimum image).

    /usr/bin/python3 potentials/validation/check_bonds.py start.data final.data --elements C H N

Prints the counts and exits with 1 if the graphs differ.
"""
import argparse
import sys

from ase.data import atomic_numbers
from ase.io import read
from ase.neighborlist import NeighborList, natural_cutoffs


def bonds(path, elements):
    atoms = read(path, format="lammps-data", style="atomic", units="metal")
    types = atoms.get_array("type") if "type" in atoms.arrays else atoms.numbers
    atoms.numbers = [atomic_numbers[elements[t - 1]] for t in types]
    order = atoms.get_array("id").argsort() if "id" in atoms.arrays else range(len(atoms))
    atoms = atoms[list(order)]  # compare atoms by LAMMPS id, not by file order
    nl = NeighborList(natural_cutoffs(atoms, mult=1.25), self_interaction=False, bothways=False,
                      skin=0.0)
    nl.update(atoms)
    out = set()
    for i in range(len(atoms)):
        for j in nl.get_neighbors(i)[0]:
            out.add((min(i, j), max(i, j)))
    return atoms, out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("start")
    p.add_argument("final")
    p.add_argument("--elements", nargs="+", required=True, help="element of each atom type, in order")
    a = p.parse_args()
    atoms, b0 = bonds(a.start, a.elements)
    _, b1 = bonds(a.final, a.elements)
    broken, formed = b0 - b1, b1 - b0
    print(f"{len(atoms)} atoms: {len(b0)} bonds at the start, {len(b1)} at the end; "
          f"{len(broken)} broken, {len(formed)} formed")
    for i, j in sorted(broken)[:10]:
        print(f"  broken: atoms {i + 1}-{j + 1}")
    for i, j in sorted(formed)[:10]:
        print(f"  formed: atoms {i + 1}-{j + 1}")
    sys.exit(1 if broken or formed else 0)


if __name__ == "__main__":
    main()
