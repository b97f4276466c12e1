"""Hardening of pair_style mlff/painn (GitHub issue 6): bad input, bad atoms, limits, leaks and
determinism. docs/ROBUSTNESS.md tabulates every case with the message users see and the test
here (or in test_lammps.py) that checks it.

Error tests compare the whole first ERROR line, less LAMMPS's " (src/file.cpp:123)" suffix.
"""
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from helpers import rel
from lammps_helpers import error_message, read_dump, run, run_ok, values, write_data
from test_lammps import ELEMENTS, models, place, standalone_structure, structure  # noqa: F401


def header(data="data.lmp", boundary="f f f"):
    return f"""units metal
atom_style atomic
atom_modify map array
boundary {boundary}
read_data {data}
"""


def molecule_data(tmp_path, name="molecule"):
    sym, pos, cell = structure(name)
    write_data(tmp_path / "data.lmp", sym, pos, ELEMENTS, cell)
    return sym, pos, cell


def failing(lmp, tmp_path, script, nprocs=1, extra_args=()):
    """Runs a script that must stop with an ERROR (not a crash); returns the message."""
    rc, out = run(lmp, str(tmp_path), script, nprocs=nprocs, extra_args=extra_args)
    assert rc != 0, "LAMMPS accepted bad input:\n" + out[-1500:]
    assert "Segmentation" not in out and "signal" not in out, "LAMMPS crashed:\n" + out[-3000:]
    msg = error_message(out)
    assert msg, "no ERROR line:\n" + out[-1500:]
    return msg


FORCE_DUMP = """dump d all custom 1 dump.atoms id x y z fx fy fz
dump_modify d format float %.17g sort id
"""


def forces(path):
    d = read_dump(path)
    return np.stack([d["fx"], d["fy"], d["fz"]], 1), np.stack([d["x"], d["y"], d["z"]], 1)


# ----------------------------------------------------------------------- bad usage -------
def test_error_malformed_json_gives_line_and_column(lmp, plugin, tmp_path):
    molecule_data(tmp_path)
    (tmp_path / "bad.json").write_text(
        '{\n  "format": "mlff-painn-weights",\n  "version": 1,\n  "family": painn\n}\n')
    msg = failing(lmp, tmp_path, header() + f"""plugin load {plugin}
pair_style mlff/painn
pair_coeff * * bad.json C H O
run 0
""")
    assert msg == ("ERROR: pair_coeff mlff/painn: bad.json: malformed JSON at line 4, column 13: "
                   "syntax error while parsing value - invalid literal; last read: "
                   "'\"family\": p'"), msg


def test_error_newer_format_version(lmp, plugin, models, tmp_path):
    molecule_data(tmp_path)
    doc = json.load(open(models["painn"]))
    doc["version"] = 2
    (tmp_path / "v2.json").write_text(json.dumps(doc))
    msg = failing(lmp, tmp_path, header() + f"""plugin load {plugin}
pair_style mlff/painn
pair_coeff * * v2.json C H O
run 0
""")
    assert msg == ("ERROR: pair_coeff mlff/painn: v2.json: version: this build reads format "
                   "version 1, the file has version 2 (newer: update mlff/painn)"), msg


def test_error_kokkos_style_without_kokkos(lmp, plugin, models, tmp_path):
    """mlff/painn/kk without '-k on': the style says how to enable KOKKOS (a plugin built
    without MLFF_LAMMPS_KOKKOS has no such style, and LAMMPS names the unknown style)."""
    molecule_data(tmp_path)
    msg = failing(lmp, tmp_path, header() + f"""plugin load {plugin}
pair_style mlff/painn/kk
pair_coeff * * {models['painn']} C H O
run 0
""")
    assert msg in (
        "ERROR: Pair style mlff/painn/kk requires the KOKKOS package to be enabled: run LAMMPS with "
        "'-k on g 1 -sf kk' (GPU) or '-k on t N -sf kk' (CPU threads), or use mlff/painn",
        "ERROR: Unrecognized pair style 'mlff/painn/kk'"), msg


@pytest.mark.parametrize("args,expected", [
    ("precision", "Illegal pair_style mlff/painn command: keyword 'precision' needs a value"),
    ("cutoff 5.0", "Illegal pair_style mlff/painn command: unknown keyword 'cutoff' (known: precision, table, graph)"),
    ("graph maybe", "Illegal pair_style mlff/painn graph 'maybe': use yes or no"),
])
def test_error_pair_style_arguments(lmp, plugin, args, expected, tmp_path):
    molecule_data(tmp_path)
    msg = failing(lmp, tmp_path, header() + f"""plugin load {plugin}
pair_style mlff/painn {args}
run 0
""")
    assert msg == "ERROR: " + expected, msg


def test_error_every_type_null(lmp, plugin, models, tmp_path):
    molecule_data(tmp_path)
    msg = failing(lmp, tmp_path, header() + f"""plugin load {plugin}
pair_style mlff/painn
pair_coeff * * {models['painn']} NULL NULL NULL
run 0
""")
    assert msg == ("ERROR: pair_coeff mlff/painn: every atom type is NULL; map at least one to "
                   "an element"), msg


def test_error_pair_style_again_without_pair_coeff(lmp, plugin, models, tmp_path):
    molecule_data(tmp_path)
    msg = failing(lmp, tmp_path, header() + f"""plugin load {plugin}
pair_style mlff/painn
pair_coeff * * {models['painn']} C H O
velocity all create 300 4928459
fix nve all nve
run 5
pair_style mlff/painn precision fp64
run 5
""")
    assert msg == ("ERROR: Pair style mlff/painn: pair_coeff must be given (again) after "
                   "pair_style"), msg


def test_pair_style_again_with_pair_coeff_runs_correctly(lmp, plugin, engine, models, tmp_path):
    """Switch models mid-run: the new model's energy and forces on the final configuration
    equal the standalone engine's."""
    sym, _, _ = molecule_data(tmp_path)
    out = run_ok(lmp, str(tmp_path), header() + f"""plugin load {plugin}
pair_style mlff/painn
pair_coeff * * {models['painn']} C H O
velocity all create 300 4928459
fix nve all nve
timestep 0.0005
run 5
pair_style mlff/painn precision fp64
pair_coeff * * {models['distiller']} C H O
run 5
{FORCE_DUMP}
run 0
print "ENERGY $(pe:%.17g)"
""")
    F, x = forces(tmp_path / "dump.atoms")
    ref = standalone_structure(engine, models["distiller"], sym, x, None, tmp_path)
    assert rel(values(out, "ENERGY")[0], ref["energy"]) <= 1e-12
    assert rel(F, ref["forces"]) <= 1e-12


@pytest.mark.parametrize("nprocs", [1, 2])
def test_two_models_under_hybrid_overlay_add_up(lmp, plugin, engine, models, nprocs, tmp_path):
    """Two mlff/painn instances overlaid: energy, forces and virial are the sums of the two
    models' standalone results."""
    sym, pos, cell = molecule_data(tmp_path, "liquid")
    out = run_ok(lmp, str(tmp_path), header(boundary="p p p") + f"""plugin load {plugin}
pair_style hybrid/overlay mlff/painn mlff/painn
pair_coeff * * mlff/painn 1 {models['painn']} C H O
pair_coeff * * mlff/painn 2 {models['distiller']} C H O
compute vir all pressure NULL virial
thermo_style custom step pe c_vir[1] c_vir[2] c_vir[3] c_vir[4] c_vir[5] c_vir[6]
{FORCE_DUMP}
run 0
print "ENERGY $(pe:%.17g)"
print "VIRIAL $(c_vir[1]*vol:%.17g) $(c_vir[2]*vol:%.17g) $(c_vir[3]*vol:%.17g) $(c_vir[4]*vol:%.17g) $(c_vir[5]*vol:%.17g) $(c_vir[6]*vol:%.17g)"
""", nprocs=nprocs)
    a = standalone_structure(engine, models["painn"], sym, pos, cell, tmp_path)
    b = standalone_structure(engine, models["distiller"], sym, pos, cell, tmp_path)
    F, _ = forces(tmp_path / "dump.atoms")
    assert rel(values(out, "ENERGY")[0], a["energy"] + b["energy"]) <= 1e-12
    assert rel(F, np.add(a["forces"], b["forces"])) <= 1e-11
    nktv2p = 1.6021765e6
    assert rel(values(out, "VIRIAL") / nktv2p, np.add(a["virial"], b["virial"])) <= 1e-11


# ----------------------------------------------------------------------- bad atoms -------
def test_error_nan_in_data_file(lmp, plugin, models, tmp_path):
    """LAMMPS refuses a NaN coordinate when it reads the data file."""
    molecule_data(tmp_path)
    lines = (tmp_path / "data.lmp").read_text().splitlines()
    atoms = next(i for i, l in enumerate(lines) if l.startswith("Atoms"))
    k = next(i for i in range(atoms + 1, len(lines)) if lines[i].startswith("3 "))
    f = lines[k].split()
    lines[k] = " ".join(f[:2] + ["nan"] + f[3:])
    (tmp_path / "data.lmp").write_text("\n".join(lines) + "\n")
    msg = failing(lmp, tmp_path, header() + f"""plugin load {plugin}
pair_style mlff/painn
pair_coeff * * {models['painn']} C H O
run 0
""")
    assert msg == ("ERROR: Expected floating point parameter instead of 'nan' in input script "
                   "or data file"), msg


def test_error_infinite_coordinate(lmp, plugin, models, tmp_path):
    """An Inf position is caught by LAMMPS itself when the run sets up."""
    molecule_data(tmp_path)
    msg = failing(lmp, tmp_path, header() + f"""plugin load {plugin}
pair_style mlff/painn
pair_coeff * * {models['painn']} C H O
set atom 3 x 1e400
run 0
""")
    assert msg == "ERROR on proc 0: Non-numeric atom coords - simulation unstable", msg


def nan_during_run(lmp, plugin, model, tmp_path, nprocs=1, extra_args=(), style="mlff/painn"):
    """Atom 3's x becomes NaN during a run (fix move with a NaN velocity); checks the error."""
    molecule_data(tmp_path)
    msg = failing(lmp, tmp_path, header() + f"""plugin load {plugin}
pair_style mlff/painn
pair_coeff * * {model} C H O
set atom 3 y 1.5 z -2.25
group three id 3
variable bad equal 1e300*1e300-1e300*1e300
variable zero equal 0
fix m three move variable v_bad v_zero v_zero NULL NULL NULL
thermo 1
run 3
""", nprocs=nprocs, extra_args=extra_args)
    assert re.fullmatch(r"ERROR on proc \d: Pair style " + re.escape(style) + r": atom 3 has a "
                        r"non-finite position \(-?nan 1\.5 -2\.25\); the simulation is "
                        r"unstable or a command set it", msg), msg


@pytest.mark.parametrize("nprocs", [1, 2])
def test_error_nan_coordinate_during_run(lmp, plugin, models, nprocs, tmp_path):
    """A NaN position that appears during a run does not trigger LAMMPS's re-neighboring (and
    so its own check): the pair style stops, naming the atom, before any NaN reaches thermo."""
    nan_during_run(lmp, plugin, models["painn"], tmp_path, nprocs=nprocs)


def test_error_non_finite_energy(lmp, plugin, models, tmp_path):
    """A model whose output overflows (energy_scale 1e308): an error, not NaN thermo output."""
    molecule_data(tmp_path)
    doc = json.load(open(models["painn"]))
    doc["hyperparameters"]["energy_scale"] = 1e308
    (tmp_path / "huge.json").write_text(json.dumps(doc))
    msg = failing(lmp, tmp_path, header() + f"""plugin load {plugin}
pair_style mlff/painn
pair_coeff * * huge.json C H O
run 0
""")
    assert re.fullmatch(r"ERROR on proc 0: Pair style mlff/painn: the model returned a "
                        r"non-finite energy \(-?(nan|inf)\) for the 14 atoms of this rank; check "
                        r"the structure \(overlapping atoms\?\) and the model file huge\.json",
                        msg), msg


def test_error_lost_atoms(lmp, plugin, models, tmp_path):
    """An atom leaving a non-periodic box: LAMMPS's own error."""
    molecule_data(tmp_path)
    msg = failing(lmp, tmp_path, header() + f"""plugin load {plugin}
pair_style mlff/painn
pair_coeff * * {models['painn']} C H O
velocity all set 0 0 0
group one id 1
velocity one set 5000 0 0
fix nve all nve
thermo 1
run 200
""")
    assert msg == "ERROR: Lost atoms: original 14 current 13", msg


def test_dense_cluster_hundreds_of_neighbours(lmp, plugin, engine, models, tmp_path):
    """400 atoms in a ball of radius 5 A (r_c = 4.5 A): central atoms have ~280 neighbours, 140 on average.
    Energy and forces equal the standalone engine's; nothing overflows."""
    rng = np.random.default_rng(11)
    pos = []
    while len(pos) < 400:
        p = rng.uniform(-5.0, 5.0, 3)
        if np.linalg.norm(p) <= 5.0 and all(np.linalg.norm(p - q) >= 0.8 for q in pos):
            pos.append(p)
    pos = np.array(pos)
    sym = list(rng.choice(ELEMENTS, len(pos)))
    d = np.linalg.norm(pos[:, None] - pos[None], axis=2)
    nn = (d < 4.5).sum(1) - 1
    assert nn.max() >= 250 and nn.mean() >= 120, (nn.max(), nn.mean())
    write_data(tmp_path / "data.lmp", sym, pos, ELEMENTS)
    out = run_ok(lmp, str(tmp_path), header() + f"""plugin load {plugin}
pair_style mlff/painn
pair_coeff * * {models['painn']} C H O
{FORCE_DUMP}
run 0
print "ENERGY $(pe:%.17g)"
""")
    F, _ = forces(tmp_path / "dump.atoms")
    ref = standalone_structure(engine, models["painn"], sym, pos, None, tmp_path)
    assert rel(values(out, "ENERGY")[0], ref["energy"]) <= 1e-12
    assert rel(F, ref["forces"]) <= 1e-12
    print(f"dense cluster: max {nn.max()} neighbours, mean {nn.mean():.0f}")


@pytest.mark.parametrize("nprocs", [1, 2])
def test_atoms_added_between_runs(lmp, plugin, models, nprocs, tmp_path):
    """create_atoms between runs: the next run equals a fresh run of the final system."""
    sym, pos, _ = structure("molecule")
    keep = len(sym) - 4
    grow, fresh = tmp_path / "grow", tmp_path / "fresh"
    grow.mkdir()
    fresh.mkdir()
    write_data(grow / "data.lmp", sym[:keep], pos[:keep], ELEMENTS, pad=30.0)
    box = (grow / "data.lmp").read_text()
    write_data(fresh / "data.lmp", sym, pos, ELEMENTS, pad=30.0)
    # The same box in both (write_data pads around the atoms it is given).
    lines = (fresh / "data.lmp").read_text().splitlines()
    bounds = [l for l in box.splitlines() if l.endswith(("xhi", "yhi", "zhi"))]
    lines = [bounds.pop(0) if l.endswith(("xhi", "yhi", "zhi")) else l for l in lines]
    (fresh / "data.lmp").write_text("\n".join(lines) + "\n")
    add = "\n".join(f"create_atoms {ELEMENTS.index(s) + 1} single {p[0]:.17g} {p[1]:.17g} "
                    f"{p[2]:.17g} units box" for s, p in zip(sym[keep:], pos[keep:]))
    tail = f"""{FORCE_DUMP}
run 0
print "ENERGY $(pe:%.17g)"
"""
    pair = f"""plugin load {plugin}
pair_style mlff/painn
pair_coeff * * {models['painn']} C H O
"""
    out_g = run_ok(lmp, str(grow), header() + pair + f"run 0\n{add}\n" + tail, nprocs=nprocs)
    out_f = run_ok(lmp, str(fresh), header() + pair + tail, nprocs=nprocs)
    assert "Created 1 atoms" in out_g
    Fg, xg = forces(grow / "dump.atoms")
    Ff, xf = forces(fresh / "dump.atoms")
    assert len(Fg) == len(sym)
    assert np.array_equal(xg, xf)
    assert values(out_g, "ENERGY")[0] == values(out_f, "ENERGY")[0]
    assert np.array_equal(Fg, Ff)


# ----------------------------------------------------------------------- resources -------
def valgrind_cycles(lmp, plugin, models, tmp_path, cycles):
    """Runs `cycles` rounds of plugin load / pair_style / pair_coeff / run / pair_style again /
    hybrid/overlay / clear in one input under valgrind; returns the leak summary."""
    rounds = []
    for _ in range(cycles):
        rounds.append(header() + f"""plugin load {plugin}
pair_style mlff/painn
pair_coeff * * {models['painn']} C H O
compute st all stress/atom NULL virial
velocity all create 300 4928459
fix nve all nve
timestep 0.0005
run 3
pair_style mlff/painn precision fp32
pair_coeff * * {models['distiller']} C H O
run 3
pair_style hybrid/overlay mlff/painn mlff/painn
pair_coeff * * mlff/painn 1 {models['painn']} C H O
pair_coeff * * mlff/painn 2 {models['distiller']} C H NULL
run 2
clear
""")
    (tmp_path / "in.lmp").write_text("".join(rounds))
    supp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "openmpi.supp")
    cmd = ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite",
           "--error-exitcode=99", "--num-callers=60", f"--suppressions={supp}",
           lmp, "-in", "in.lmp", "-log", "log.lammps", "-screen", "none"]
    r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=900,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    log = (tmp_path / "log.lammps").read_text()
    assert log.count("Loop time") == 3 * cycles, log[-2000:]
    assert r.returncode == 0, "valgrind found errors or leaks:\n" + r.stderr[-6000:]
    summary = {}
    for kind in ("definitely", "indirectly", "possibly"):
        m = re.search(rf"{kind} lost: ([\d,]+) bytes", r.stderr)
        summary[kind] = int(m.group(1).replace(",", "")) if m else 0
    assert "ERROR SUMMARY: 0 errors" in r.stderr, r.stderr[-3000:]
    return summary


def test_clear_cycles_leak_nothing(lmp, plugin, models, tmp_path):
    """Memcheck: no invalid access and no definite leak (Open MPI's own init/finalize leaks
    suppressed: openmpi.supp), and what is left at exit does not grow with the cycles."""
    if shutil.which("valgrind") is None:
        pytest.fail("valgrind is not installed (scripts/setup.sh installs it)")
    molecule_data(tmp_path)
    one, three = tmp_path / "one", tmp_path / "three"
    for d in (one, three):
        d.mkdir()
        shutil.copy(tmp_path / "data.lmp", d / "data.lmp")
    s1 = valgrind_cycles(lmp, plugin, models, one, 1)
    s3 = valgrind_cycles(lmp, plugin, models, three, 3)
    print(f"valgrind: 1 cycle {s1}, 3 cycles {s3}")
    assert s1["definitely"] == 0 and s3["definitely"] == 0
    assert s3["indirectly"] == s1["indirectly"] and s3["possibly"] == s1["possibly"], (s1, s3)


# --------------------------------------------------------------------- determinism -------
@pytest.mark.parametrize("nprocs", [1, 2])
def test_bitwise_deterministic_run_to_run(lmp, plugin, models, nprocs, tmp_path):
    """The same input twice: energies and forces at every dumped step are bit-identical
    (%.17g round-trips doubles exactly, so equal text means equal bits)."""
    sym, pos, cell = structure("liquid")
    script = header(boundary="p p p") + f"""plugin load {plugin}
pair_style mlff/painn
pair_coeff * * {models['painn']} C H O
velocity all create 300 4928459
fix nve all nve
timestep 0.0005
thermo 5
thermo_style custom step pe ke etotal press
thermo_modify format float %.17g
dump d all custom 5 dump.atoms id x y z fx fy fz
dump_modify d format float %.17g sort id
run 20
"""
    dumps, thermo = [], []
    for k in range(2):
        d = tmp_path / f"run{k}"
        d.mkdir()
        write_data(d / "data.lmp", sym, pos, ELEMENTS, cell)
        out = run_ok(lmp, str(d), script, nprocs=nprocs)
        dumps.append((d / "dump.atoms").read_text())
        thermo.append([l for l in out.splitlines() if re.match(r"^\s+\d+\s+-?\d", l)])
    assert dumps[0].count("ITEM: TIMESTEP") == 5
    assert len(thermo[0]) == 5, thermo[0]
    assert thermo[0] == thermo[1]
    assert dumps[0] == dumps[1]
