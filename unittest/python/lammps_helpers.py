"""Running LAMMPS with the mlff/painn plugin from tests: data files, inputs, parsed output."""
import os
import re
import subprocess

import numpy as np

MASS = {"H": 1.008, "C": 12.011, "N": 14.007, "O": 15.999}
NKTV2P_METAL = 1.6021765e6  # LAMMPS's bar*A^3 per eV


def lammps_box(cell):
    """LAMMPS's restricted triclinic form (a along x, b in xy) of a 3x3 cell; also rotates."""
    a, b, c = (np.asarray(v, float) for v in cell)
    lx = np.linalg.norm(a)
    ax = a / lx
    xy = b @ ax
    ly = np.linalg.norm(np.cross(ax, b))
    xz = c @ ax
    yz = (b @ c - xy * xz) / ly
    lz = np.sqrt(c @ c - xz**2 - yz**2)
    return lx, ly, lz, xy, xz, yz


def write_data(path, symbols, positions, elements, cell=None, pad=30.0, velocities=None):
    """Writes a data file; `cell` must already be in LAMMPS's form (upper-triangular rows)."""
    pos = np.asarray(positions, float)
    types = {e: k + 1 for k, e in enumerate(elements)}
    lines = ["mlff/painn test structure", "", f"{len(pos)} atoms", f"{len(elements)} atom types", ""]
    if cell is None:
        lo, hi = pos.min(0) - pad, pos.max(0) + pad
        for k, ax in enumerate("xyz"):
            lines.append(f"{lo[k]:.17g} {hi[k]:.17g} {ax}lo {ax}hi")
    else:
        cell = np.asarray(cell, float)
        lines += [f"0 {cell[0, 0]:.17g} xlo xhi", f"0 {cell[1, 1]:.17g} ylo yhi",
                  f"0 {cell[2, 2]:.17g} zlo zhi"]
        if abs(cell[1, 0]) + abs(cell[2, 0]) + abs(cell[2, 1]) > 0:
            lines.append(f"{cell[1, 0]:.17g} {cell[2, 0]:.17g} {cell[2, 1]:.17g} xy xz yz")
    lines += ["", "Masses", ""] + [f"{types[e]} {MASS.get(e, 1.0)}" for e in elements]
    lines += ["", "Atoms # atomic", ""]
    lines += [f"{i + 1} {types[s]} {p[0]:.17g} {p[1]:.17g} {p[2]:.17g}" for i, (s, p) in
              enumerate(zip(symbols, pos))]
    if velocities is not None:
        lines += ["", "Velocities", ""]
        lines += [f"{i + 1} {v[0]:.17g} {v[1]:.17g} {v[2]:.17g}" for i, v in enumerate(velocities)]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def run(lmp, workdir, script, nprocs=1, timeout=600, extra_args=()):
    """Runs `script` (text) in `workdir`; returns (returncode, stdout+stderr)."""
    inp = os.path.join(workdir, "in.lmp")
    with open(inp, "w") as f:
        f.write(script)
    # Line-buffered stdio: error->one ends in MPI_Abort, which would drop a piped, fully
    # buffered "ERROR on proc N" message (on a terminal it is line-buffered anyway).
    cmd = ["stdbuf", "-oL", "-eL", lmp, "-in", "in.lmp", "-log", "log.lammps", *extra_args]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if nprocs > 1:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                   OMPI_MCA_rmaps_base_oversubscribe="1")
        cmd = ["mpirun", "-np", str(nprocs), "--oversubscribe", *cmd]
    r = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env)
    return r.returncode, r.stdout + r.stderr


def run_ok(lmp, workdir, script, **kw):
    rc, out = run(lmp, workdir, script, **kw)
    assert rc == 0, f"LAMMPS failed ({rc}):\n{out[-3000:]}"
    return out


def error_line(out):
    """The first 'ERROR...' line LAMMPS printed, or ''."""
    m = re.search(r"^ERROR.*$", out, re.M)
    return m.group(0) if m else ""


def error_message(out):
    """The first ERROR line without LAMMPS's " (src/file.cpp:123)" location suffix, so that
    tests can compare the whole message users see."""
    return re.sub(r" \([^()]*\.(?:cpp|h):\d+\)$", "", error_line(out))


def read_dump(path):
    """A `dump custom` file with columns id ...: returns {column: array} sorted by id."""
    with open(path) as f:
        lines = f.read().splitlines()
    k = max(i for i, l in enumerate(lines) if l.startswith("ITEM: ATOMS"))
    cols = lines[k].split()[2:]
    data = np.array([[float(v) for v in l.split()] for l in lines[k + 1:] if l.strip()])
    data = data[np.argsort(data[:, 0])]
    return {c: data[:, i] for i, c in enumerate(cols)}


def values(out, tag):
    """Numbers printed by `print "<tag> v1 v2 ..."` (the last such line)."""
    lines = [l for l in out.splitlines() if l.startswith(tag + " ")]
    assert lines, f"no '{tag}' line in LAMMPS output:\n{out[-2000:]}"
    return np.array([float(v) for v in lines[-1].split()[1:]])


def plugin_header(plugin, model, elements, precision="fp64", boundary="p p p"):
    return f"""units metal
atom_style atomic
atom_modify map array
boundary {boundary}
"""


def evaluation_script(plugin, model, elements, data="data.lmp", boundary="p p p",
                      precision="fp64", processors=None, extra="", pair_style="mlff/painn"):
    """run 0 with energy, virial, per-atom energy and stress written out in full precision."""
    proc = f"processors {processors}\n" if processors else ""
    return f"""units metal
atom_style atomic
atom_modify map array
boundary {boundary}
{proc}read_data {data}
plugin load {plugin}
pair_style {pair_style} precision {precision}
pair_coeff * * {model} {' '.join(elements)}
{extra}
compute pe all pe/atom
compute st all stress/atom NULL virial
compute spe all reduce sum c_pe
compute sst all reduce sum c_st[1] c_st[2] c_st[3] c_st[4] c_st[5] c_st[6]
compute vir all pressure NULL virial
thermo_style custom step pe c_spe c_vir[1] c_vir[2] c_vir[3] c_vir[4] c_vir[5] c_vir[6] c_sst[1] c_sst[2] c_sst[3] c_sst[4] c_sst[5] c_sst[6]
dump d all custom 1 dump.atoms id type x y z fx fy fz c_pe c_st[1] c_st[2] c_st[3] c_st[4] c_st[5] c_st[6]
dump_modify d format float %.17g sort id
run 0
print "ENERGY $(pe:%.17g) $(c_spe:%.17g)"
print "VIRIAL $(c_vir[1]*vol/{NKTV2P_METAL}:%.17g) $(c_vir[2]*vol/{NKTV2P_METAL}:%.17g) $(c_vir[3]*vol/{NKTV2P_METAL}:%.17g) $(c_vir[4]*vol/{NKTV2P_METAL}:%.17g) $(c_vir[5]*vol/{NKTV2P_METAL}:%.17g) $(c_vir[6]*vol/{NKTV2P_METAL}:%.17g)"
print "SSTRESS $(c_sst[1]:%.17g) $(c_sst[2]:%.17g) $(c_sst[3]:%.17g) $(c_sst[4]:%.17g) $(c_sst[5]:%.17g) $(c_sst[6]:%.17g)"
"""
