"""The teacher: GFN2-xTB through tblite (PyPI), energies in eV and forces in eV/A.

Runs offline on the CPU (about 2 ms for benzene). Molecules and clusters only (no cell):
the students are trained on isolated configurations.
"""
import numpy as np

BOHR = 0.52917721092  # A
HARTREE = 27.211386245988  # eV
NAME = "GFN2-xTB (tblite {})"


def version():
    try:
        import importlib.metadata as md
        return md.version("tblite")
    except Exception:
        return "unknown"


def label():
    return NAME.format(version())


def energy_forces(numbers, positions, charge=0, uhf=0, accuracy=1.0):
    """GFN2-xTB energy (eV) and forces (eV/A) of one configuration."""
    from tblite.interface import Calculator
    calc = Calculator("GFN2-xTB", np.asarray(numbers), np.asarray(positions, float) / BOHR,
                      charge=charge, uhf=uhf)
    calc.set("verbosity", 0)
    calc.set("accuracy", accuracy)
    res = calc.singlepoint()
    e = float(res.get("energy")) * HARTREE
    f = -np.asarray(res.get("gradient")) * HARTREE / BOHR
    return e, f


class TeacherCalculator:
    """Minimal ASE calculator around energy_forces (for teacher MD and optimisation)."""

    def __new__(cls, *args, **kwargs):
        from ase.calculators.calculator import Calculator, all_changes

        class _Calc(Calculator):
            implemented_properties = ["energy", "forces"]

            def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
                super().calculate(atoms, properties, system_changes)
                e, f = energy_forces(self.atoms.numbers, self.atoms.positions)
                self.results = {"energy": e, "forces": f}

        return _Calc(*args, **kwargs)
