"""pair_style mlff/painn in LAMMPS (through `plugin load`) against the standalone engine.

1. `run 0` energy, forces, virial and per-atom energies = the engine's standalone evaluation
   (mlff_painn_eval) to 1e-12 relative in fp64, for both model families.
2. 1, 2 and 4 MPI ranks give the 1-rank energy and forces to 1e-10 relative: a molecule in a
   large box, a periodic liquid box of side < 6 r_c (atoms see their own images through every
   layer), a triclinic box, and a decomposition where ranks own no atoms.
3. The virial equals central finite differences of the energy under box deformation, and the
   sums of per-atom energies and per-atom virials (compute pe/atom, stress/atom) equal the globals.
5. Bad input stops LAMMPS with an ERROR line naming the problem (the whole line is compared).
"""
import json
import os
import re
import subprocess

import numpy as np
import pytest

from helpers import rel
from lammps_helpers import (NKTV2P_METAL, error_message, evaluation_script,
                            read_dump, run, run_ok, values, write_data)
from weights.export_common import write_json

ELEMENTS = ["C", "H", "O"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# ---------------------------------------------------------------------------- structures --
def place(rng, n, cell, dmin, periodic):
    """n random positions in `cell` (rows = LAMMPS lattice vectors) at least dmin apart."""
    cell = np.asarray(cell, float)
    pos = []
    while len(pos) < n:
        p = rng.random(3) @ cell
        ok = True
        for q in pos:
            d = p - q
            if periodic:
                f = np.linalg.solve(cell.T, d)
                d = (f - np.round(f)) @ cell
            if np.linalg.norm(d) < dmin:
                ok = False
                break
        if ok:
            pos.append(p)
    return np.array(pos)


def structure(name):
    """(symbols, positions, cell or None) of the named test system."""
    rng = np.random.default_rng(sum(map(ord, name)))
    if name in ("molecule", "molecule-empty-ranks"):
        n = 14
        pos = place(rng, n, np.eye(3) * 4.5, 1.0, False)
        return list(rng.choice(ELEMENTS, n)), pos, None
    if name == "liquid":  # cubic, side 9 A: < 6 r_c, < 2 (r_c + skin)
        cell = np.eye(3) * 9.0
        n = 64
        return list(rng.choice(ELEMENTS, n)), place(rng, n, cell, 1.05, True), cell
    if name == "triclinic":
        cell = np.array([[8.0, 0, 0], [1.6, 7.5, 0], [-1.1, 1.3, 7.8]])
        n = 44
        return list(rng.choice(ELEMENTS, n)), place(rng, n, cell, 1.05, True), cell
    raise KeyError(name)


# ---------------------------------------------------------------------------- models -----
@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A random painn model (schnetpack, 3 layers, r_c 4.5) and a random mlff-distiller model."""
    from test_schnetpack import build
    from test_exporter import distiller_state_dict
    from weights.export_distiller import from_state_dict

    d = tmp_path_factory.mktemp("models")
    _, _, _, doc = build("F16-L3-K6-bessel-sharedint")
    write_json(doc, d / "painn.json")
    ddoc = from_state_dict(distiller_state_dict(seed=3), ELEMENTS, "test", "random weights")
    write_json(ddoc, d / "distiller.json")
    return {"painn": str(d / "painn.json"), "distiller": str(d / "distiller.json")}


def lammps_eval(lmp, plugin, model, name, tmp_path, nprocs=1, processors=None, precision="fp64",
                extra_args=(), pair_style="mlff/painn"):
    sym, pos, cell = structure(name)
    pad = 30.0
    if name == "molecule-empty-ranks":
        # x in [0, 40) split 4 ways: the molecule straddles the rank 0 / rank 1 boundary at
        # x = 10, and ranks 2 and 3 own no atoms (and, with ghost cutoff 7, see none).
        pos = pos - pos.mean(0) + [10.0, 0.0, 0.0]
    write_data(tmp_path / "data.lmp", sym, pos, ELEMENTS, cell, pad=pad)
    if name == "molecule-empty-ranks":
        text = (tmp_path / "data.lmp").read_text().splitlines()
        text = [("0 40 xlo xhi" if l.endswith("xlo xhi") else l) for l in text]
        (tmp_path / "data.lmp").write_text("\n".join(text) + "\n")
    boundary = "p p p" if cell is not None else "f f f"
    out = run_ok(lmp, str(tmp_path), evaluation_script(plugin, model, ELEMENTS, boundary=boundary,
                 precision=precision, processors=processors, pair_style=pair_style), nprocs=nprocs,
                 extra_args=extra_args)
    d = read_dump(tmp_path / "dump.atoms")
    return {
        "out": out,
        "energy": values(out, "ENERGY")[0],
        "energy_sum": values(out, "ENERGY")[1],
        "virial": values(out, "VIRIAL"),
        "virial_sum": -values(out, "SSTRESS") / NKTV2P_METAL,
        "forces": np.stack([d["fx"], d["fy"], d["fz"]], 1),
        "eatom": d["c_pe"],
        "vatom": np.stack([d[f"c_st[{k}]"] for k in range(1, 7)], 1),
    }


def standalone(engine, model, name, tmp_path):
    return standalone_structure(engine, model, *structure(name), tmp_path)


def standalone_structure(engine, model, sym, pos, cell, tmp_path):
    doc = {"symbols": sym, "positions": pos.tolist(),
           "cell": None if cell is None else np.asarray(cell).tolist()}
    if cell is not None:
        doc["pbc"] = [True, True, True]
    (tmp_path / "s.json").write_text(json.dumps(doc))
    r = subprocess.run([engine, "--model", model, "--structure", str(tmp_path / "s.json")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


# ---------------------------------------------------------------------------- test 1 -----
@pytest.mark.parametrize("family", ["painn", "distiller"])
@pytest.mark.parametrize("name", ["molecule", "liquid", "triclinic"])
def test_run0_matches_standalone_engine(lmp, plugin, engine, models, family, name, tmp_path):
    got = lammps_eval(lmp, plugin, models[family], name, tmp_path)
    ref = standalone(engine, models[family], name, tmp_path)
    assert rel(got["energy"], ref["energy"]) <= 1e-12
    assert rel(got["forces"], ref["forces"]) <= 1e-12
    assert rel(got["eatom"], ref["atom_energies"]) <= 1e-12
    if name != "molecule":  # LAMMPS reports no meaningful volume for a non-periodic box
        assert rel(got["virial"], ref["virial"]) <= 1e-12
    print(f"{family}/{name}: |dE|/|E| = {rel(got['energy'], ref['energy']):.1e}, "
          f"forces {rel(got['forces'], ref['forces']):.1e}")


# ---------------------------------------------------------------------------- test 2 -----
DECOMPOSITIONS = {
    "molecule": [(2, None), (4, None)],
    "liquid": [(2, None), (4, None), (4, "4 1 1")],
    "triclinic": [(2, None), (4, "1 2 2")],
    "molecule-empty-ranks": [(4, "4 1 1")],
}


@pytest.mark.parametrize("name", sorted(DECOMPOSITIONS))
def test_ranks_agree(lmp, plugin, models, name, tmp_path):
    one = lammps_eval(lmp, plugin, models["painn"], name, tmp_path)
    for nprocs, grid in DECOMPOSITIONS[name]:
        sub = tmp_path / f"np{nprocs}"
        sub.mkdir(exist_ok=True)
        got = lammps_eval(lmp, plugin, models["painn"], name, sub, nprocs=nprocs, processors=grid)
        assert rel(got["energy"], one["energy"]) <= 1e-10, (nprocs, grid)
        assert rel(got["forces"], one["forces"]) <= 1e-10, (nprocs, grid)
        assert rel(got["energy_sum"], got["energy"]) <= 1e-12, (nprocs, grid)
        if name in ("liquid", "triclinic"):
            assert rel(got["virial"], one["virial"]) <= 1e-10, (nprocs, grid)
            assert rel(got["virial_sum"], got["virial"]) <= 1e-12, (nprocs, grid)
        print(f"{name} on {nprocs} ranks ({grid or 'auto'}): energy {rel(got['energy'], one['energy']):.1e}, "
              f"forces {rel(got['forces'], one['forces']):.1e} relative to 1 rank")


# ---------------------------------------------------------------------------- test 3 -----
def strained(cell, pos, comp, h):
    """Deformation x' = (I + h e_a e_b^T) x for component (a, b) with a <= b (LAMMPS form kept)."""
    a, b = comp
    D = np.eye(3)
    D[a, b] += h
    return np.asarray(cell) @ D.T, np.asarray(pos) @ D.T


@pytest.mark.parametrize("name", ["liquid", "triclinic"])
def test_virial_vs_strain_derivative(lmp, plugin, models, name, tmp_path):
    sym, pos, cell = structure(name)
    base = lammps_eval(lmp, plugin, models["painn"], name, tmp_path)
    h = 1e-5
    fd = []
    # LAMMPS virial order xx yy zz xy xz yz; the shear x += h*y measures W_yx = W_xy (symmetric).
    for comp in [(0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2)]:
        e = []
        for s in (+h, -h):
            c, p = strained(cell, pos, comp, s)
            write_data(tmp_path / "data.lmp", sym, p, ELEMENTS, c)
            out = run_ok(lmp, str(tmp_path), evaluation_script(plugin, models["painn"], ELEMENTS))
            e.append(values(out, "ENERGY")[0])
        fd.append(-(e[0] - e[1]) / (2 * h))
    err = rel(base["virial"], fd)
    print(f"{name}: virial vs -dE/d(strain), relative {err:.1e}")
    assert err <= 1e-7
    assert rel(base["energy_sum"], base["energy"]) <= 1e-13
    assert rel(base["virial_sum"], base["virial"]) <= 1e-12


# ---------------------------------------------------------------------------- test 5 -----
def error_of(lmp, plugin, tmp_path, pair_coeff, units="metal", newton="on", pair_style="mlff/painn"):
    sym, pos, cell = structure("liquid")
    write_data(tmp_path / "data.lmp", sym, pos, ELEMENTS, cell)
    script = f"""units {units}
newton {newton}
atom_style atomic
read_data data.lmp
plugin load {plugin}
pair_style {pair_style}
pair_coeff {pair_coeff}
run 0
"""
    rc, out = run(lmp, str(tmp_path), script)
    assert rc != 0, "LAMMPS accepted bad input:\n" + out[-1500:]
    line = error_message(out)
    assert line, "no ERROR line:\n" + out[-1500:]
    return line  # the whole message, less LAMMPS's " (src/file.cpp:123)"


def test_error_missing_file(lmp, plugin, tmp_path):
    line = error_of(lmp, plugin, tmp_path, "* * no_such_model.json C H O")
    assert line == ("ERROR: pair_coeff mlff/painn: no_such_model.json: cannot open the model "
                    "file for reading"), line


def test_error_damaged_file(lmp, plugin, models, tmp_path):
    text = open(models["painn"]).read()
    cut = text[: len(text) // 2]
    (tmp_path / "cut.json").write_text(cut)
    line = error_of(lmp, plugin, tmp_path, "* * cut.json C H O")
    # The input ends inside the last line: the error is one column past its end.
    last = cut.split("\n")
    where = f"line {len(last)}, column {len(last[-1]) + 1}"
    assert re.fullmatch(rf"ERROR: pair_coeff mlff/painn: cut\.json: malformed JSON at {where}: "
                        r"syntax error while parsing \w+ - unexpected end of input; expected .+",
                        line), line


def test_error_not_an_element(lmp, plugin, models, tmp_path):
    line = error_of(lmp, plugin, tmp_path, f"* * {models['painn']} C Hx O")
    assert line == ("ERROR: pair_coeff mlff/painn: 'Hx' given for atom type 2 is not a chemical "
                    "element symbol"), line


def test_error_element_missing_from_model(lmp, plugin, models, tmp_path):
    line = error_of(lmp, plugin, tmp_path, f"* * {models['distiller']} C H Si")
    assert line == ("ERROR: pair_coeff mlff/painn: atom type 3 is mapped to element Si, which "
                    f"model file {models['distiller']} does not have (its elements: C H O)"), line


def test_error_wrong_number_of_elements(lmp, plugin, models, tmp_path):
    line = error_of(lmp, plugin, tmp_path, f"* * {models['painn']} C H")
    assert line == ("ERROR: Incorrect args for pair coefficients: mlff/painn needs 3 element "
                    "names after the model file (one per atom type, NULL to skip a type), "
                    "found 2"), line


def test_error_not_star_star(lmp, plugin, models, tmp_path):
    line = error_of(lmp, plugin, tmp_path, f"1 1 {models['painn']} C H O")
    # LAMMPS checks one_coeff styles itself: 29Sep2021 says "Incorrect args for pair
    # coefficients", develop "Pair_coeff must start with * * for pair style mlff/painn".
    assert line in ("ERROR: Incorrect args for pair coefficients",
                    "ERROR: Pair_coeff must start with * * for pair style mlff/painn"), line


def test_error_units(lmp, plugin, models, tmp_path):
    line = error_of(lmp, plugin, tmp_path, f"* * {models['painn']} C H O", units="real")
    assert line == ("ERROR: Pair style mlff/painn requires 'units metal' (models are in eV and "
                    "Angstrom), not units real"), line


def test_error_newton_off(lmp, plugin, models, tmp_path):
    line = error_of(lmp, plugin, tmp_path, f"* * {models['painn']} C H O", newton="off")
    assert line == "ERROR: Pair style mlff/painn requires newton pair on", line


def test_error_bad_precision(lmp, plugin, models, tmp_path):
    line = error_of(lmp, plugin, tmp_path, f"* * {models['painn']} C H O",
                    pair_style="mlff/painn precision fp16")
    assert line == "ERROR: Illegal pair_style mlff/painn precision 'fp16': use fp64, fp32 or mixed", line


def test_reduced_precision_close_to_fp64(lmp, plugin, models, tmp_path):
    ref = lammps_eval(lmp, plugin, models["painn"], "liquid", tmp_path)
    for prec in ("fp32", "mixed"):
        got = lammps_eval(lmp, plugin, models["painn"], "liquid", tmp_path, precision=prec)
        assert rel(got["energy"], ref["energy"]) <= 1e-5, prec
        assert rel(got["forces"], ref["forces"]) <= 1e-4, prec


def test_tabulated_filters_close_to_exact(lmp, plugin, models, tmp_path):
    """`table N`: each layer's radial filter from an exact-derivative cubic table (fp64 here;
    the engine tests check that forces are the derivative of the tabulated energy)."""
    for fam in ("painn", "distiller"):
        ref = lammps_eval(lmp, plugin, models[fam], "liquid", tmp_path)
        got = lammps_eval(lmp, plugin, models[fam], "liquid", tmp_path, precision="fp64 table 4096")
        assert rel(got["energy"], ref["energy"]) <= 1e-10, fam
        assert rel(got["forces"], ref["forces"]) <= 1e-8, fam
        assert "radial filters tabulated (4096 intervals)" in got["out"], got["out"][-800:]


def test_error_bad_table(lmp, plugin, models, tmp_path):
    line = error_of(lmp, plugin, tmp_path, f"* * {models['painn']} C H O",
                    pair_style="mlff/painn table 10")
    assert line == ("ERROR: Illegal pair_style mlff/painn table 10: use 0 (no table) or 64 to "
                    "1000000 intervals"), line


# ------------------------------------------------------------------- hybrid/overlay ------
def null_type_script(plugin, model, dump="dump.atoms"):
    """run 0 of data.lmp with type 3 (O) left to pair zero under hybrid/overlay."""
    return f"""units metal
atom_style atomic
read_data data.lmp
plugin load {plugin}
pair_style hybrid/overlay mlff/painn zero 5.0
pair_coeff * * mlff/painn {model} C H NULL
pair_coeff * * zero
dump d all custom 1 {dump} id fx fy fz
dump_modify d format float %.17g sort id
run 0
print "ENERGY $(pe:%.17g)"
"""


def test_null_type_under_hybrid_overlay(lmp, plugin, engine, models, tmp_path):
    """Type 3 (O) mapped to NULL: the model sees only C and H atoms, as if O were absent."""
    sym, pos, cell = structure("liquid")
    write_data(tmp_path / "data.lmp", sym, pos, ELEMENTS, cell)
    out = run_ok(lmp, str(tmp_path), null_type_script(plugin, models['painn']))
    d = read_dump(tmp_path / "dump.atoms")
    keep = [k for k, s in enumerate(sym) if s != "O"]
    doc = {"symbols": [sym[k] for k in keep], "positions": pos[keep].tolist(),
           "cell": np.asarray(cell).tolist(), "pbc": [True] * 3}
    (tmp_path / "s.json").write_text(json.dumps(doc))
    r = subprocess.run([engine, "--model", models["painn"], "--structure", str(tmp_path / "s.json")],
                       capture_output=True, text=True, timeout=300)
    ref = json.loads(r.stdout)
    F = np.stack([d["fx"], d["fy"], d["fz"]], 1)
    assert rel(values(out, "ENERGY")[0], ref["energy"]) <= 1e-12
    assert rel(F[keep], ref["forces"]) <= 1e-12
    assert np.abs(F[[k for k in range(len(sym)) if k not in keep]]).max() == 0.0


# --------------------------------------------------------- wide rows, shipped model ------
def test_shipped_water_model_periodic_ranks(lmp, plugin, engine, tmp_path):
    """F = 64: the vector features (192 numbers per atom) cross ranks in two column blocks."""
    model = os.path.join(ROOT, "potentials", "water", "water_painn.json")
    rng = np.random.default_rng(5)
    side = 9.8555
    cell = np.eye(3) * side
    centres = place(rng, 32, cell, 2.6, True)
    o_h = np.array([[0.0, 0.0, 0.0], [0.9572, 0.0, 0.0], [-0.2400, 0.9266, 0.0]])
    sym, pos = [], []
    for c in centres:
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        for s, p in zip("OHH", o_h @ q.T + c):
            sym.append(s)
            pos.append(p)
    pos = np.array(pos)
    write_data(tmp_path / "data.lmp", sym, pos, ["O", "H"], cell)
    ref = standalone_structure(engine, model, sym, pos, cell, tmp_path)
    for nprocs, grid in [(1, None), (3, "3 1 1"), (4, "2 2 1")]:
        out = run_ok(lmp, str(tmp_path), evaluation_script(plugin, model, ["O", "H"],
                     processors=grid), nprocs=nprocs)
        d = read_dump(tmp_path / "dump.atoms")
        F = np.stack([d["fx"], d["fy"], d["fz"]], 1)
        assert rel(values(out, "ENERGY")[0], ref["energy"]) <= 1e-12, nprocs
        assert rel(F, ref["forces"]) <= 1e-10, nprocs
        assert rel(values(out, "VIRIAL"), ref["virial"]) <= 1e-10, nprocs


def coincident_atoms(lmp, plugin, model, tmp_path, extra_args=()):
    """Atom 6 on top of atom 3 in a liquid box: returns (error line, the shared position)."""
    sym, pos, cell = structure("liquid")
    pos = pos.copy()
    pos[5] = pos[2]
    write_data(tmp_path / "data.lmp", sym, pos, ELEMENTS, cell)
    rc, out = run(lmp, str(tmp_path), f"""units metal
atom_style atomic
read_data data.lmp
plugin load {plugin}
pair_style mlff/painn
pair_coeff * * {model} C H O
run 0
""", extra_args=extra_args)
    assert rc != 0 and "Segmentation" not in out and "signal" not in out, out[-3000:]
    p = pos[2]
    return error_message(out), f"({p[0]:.6g} {p[1]:.6g} {p[2]:.6g})"


def test_error_coincident_atoms(lmp, plugin, models, tmp_path):
    line, where = coincident_atoms(lmp, plugin, models["painn"], tmp_path)
    assert line == f"ERROR on proc 0: Pair style mlff/painn: atoms 3 and 6 are at the same position {where}"
