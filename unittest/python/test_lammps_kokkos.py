"""pair_style mlff/painn/kk (KOKKOS package variant) against mlff/painn, through `plugin load`.

On this machine LAMMPS's KOKKOS package runs on Debian's Kokkos (host back end), so these tests
check the /kk data path (device views, the KOKKOS neighbor list, features exchanged through the
KOKKOS forward communication, per-atom arrays in DualViews) on the CPU; the same tests are run
against a CUDA build on the device machine (see the closing notes). Both styles run the same
engine, so fp64 results agree to rounding (1e-12 relative).
"""
import os
import subprocess

import numpy as np
import pytest

from helpers import rel
from lammps_helpers import error_message, read_dump, run, run_ok, values, write_data
from test_lammps import (ELEMENTS, ROOT, coincident_atoms, lammps_eval, models,  # noqa: F401 (fixture)
                         null_type_script, structure)
from test_lammps_robustness import nan_during_run

KK = ("-k", "on", "-sf", "kk")


@pytest.fixture(scope="module")
def kk(lmp, plugin, tmp_path_factory):
    """Skips when the plugin was built without MLFF_LAMMPS_KOKKOS (no mlff/painn/kk in it)."""
    d = tmp_path_factory.mktemp("kkprobe")
    rc, out = run(lmp, str(d), f"plugin load {plugin}\nplugin list\n", extra_args=KK)
    if "mlff/painn/kk" not in out:
        msg = "the plugin has no mlff/painn/kk (built without -DMLFF_LAMMPS_KOKKOS=ON)"
        if os.environ.get("MLFF_REQUIRE_KOKKOS") == "1":
            pytest.fail(msg + f":\n{out[-2000:]}")
        pytest.skip(msg)
    return True


def compare(got, ref, tol, what, sum_tol=1e-12):
    """sum_tol: per-atom sums vs globals (in fp32 both are float sums in different orders)."""
    for key in ("energy", "forces", "eatom", "virial", "vatom"):
        assert rel(got[key], ref[key]) <= tol, (what, key, rel(got[key], ref[key]))
    assert rel(got["energy_sum"], got["energy"]) <= sum_tol, what
    assert rel(got["virial_sum"], got["virial"]) <= sum_tol, what


@pytest.mark.parametrize("family", ["painn", "distiller"])
@pytest.mark.parametrize("name", ["molecule", "liquid", "triclinic"])
def test_kk_matches_host_style(lmp, plugin, kk, models, family, name, tmp_path):
    host = lammps_eval(lmp, plugin, models[family], name, tmp_path)
    (tmp_path / "kk").mkdir()
    got = lammps_eval(lmp, plugin, models[family], name, tmp_path / "kk", extra_args=KK)
    assert "precision fp64" in got["out"] and "data resident on the device" in got["out"]
    compare(got, host, 1e-12, (family, name))
    print(f"{family}/{name}: kk vs host: energy {rel(got['energy'], host['energy']):.1e}, "
          f"forces {rel(got['forces'], host['forces']):.1e}")


@pytest.mark.parametrize("precision", ["fp32", "mixed"])
def test_kk_reduced_precision_matches_host_style(lmp, plugin, kk, models, precision, tmp_path):
    host = lammps_eval(lmp, plugin, models["painn"], "liquid", tmp_path, precision=precision)
    (tmp_path / "kk").mkdir()
    got = lammps_eval(lmp, plugin, models["painn"], "liquid", tmp_path / "kk", precision=precision,
                      extra_args=KK)
    compare(got, host, 1e-12, precision, sum_tol=1e-6)


@pytest.mark.parametrize("name,nprocs,grid", [("liquid", 2, None), ("liquid", 4, "4 1 1"),
                                              ("triclinic", 4, "1 2 2"),
                                              ("molecule-empty-ranks", 4, "4 1 1")])
def test_kk_ranks_agree(lmp, plugin, kk, models, name, nprocs, grid, tmp_path):
    one = lammps_eval(lmp, plugin, models["painn"], name, tmp_path)
    (tmp_path / "kk").mkdir()
    got = lammps_eval(lmp, plugin, models["painn"], name, tmp_path / "kk", nprocs=nprocs,
                      processors=grid, extra_args=KK)
    assert rel(got["energy"], one["energy"]) <= 1e-10
    assert rel(got["forces"], one["forces"]) <= 1e-10
    assert rel(got["energy_sum"], got["energy"]) <= 1e-12
    if name != "molecule-empty-ranks":
        assert rel(got["virial"], one["virial"]) <= 1e-10
        assert rel(got["virial_sum"], got["virial"]) <= 1e-12
    print(f"{name}, kk on {nprocs} ranks: energy {rel(got['energy'], one['energy']):.1e}, "
          f"forces {rel(got['forces'], one['forces']):.1e} relative to mlff/painn on 1 rank")


def test_kk_newton_off(lmp, plugin, kk, models, tmp_path):
    """The KOKKOS GPU default is newton off: same energy and forces; each edge's virial then
    goes to its local receiver, so the per-atom virial still sums to the global one."""
    host = lammps_eval(lmp, plugin, models["painn"], "liquid", tmp_path)
    (tmp_path / "kk").mkdir()
    got = lammps_eval(lmp, plugin, models["painn"], "liquid", tmp_path / "kk", nprocs=2,
                      extra_args=KK + ("-pk", "kokkos", "newton", "off", "neigh", "full"))
    assert rel(got["energy"], host["energy"]) <= 1e-10
    assert rel(got["forces"], host["forces"]) <= 1e-10
    assert rel(got["virial"], host["virial"]) <= 1e-10
    assert rel(got["virial_sum"], got["virial"]) <= 1e-12


def test_kk_null_type_under_hybrid_overlay(lmp, plugin, kk, models, tmp_path):
    sym, pos, cell = structure("liquid")
    write_data(tmp_path / "data.lmp", sym, pos, ELEMENTS, cell)
    outs = {}
    for tag, args in (("host", ()), ("kk", KK)):
        script = null_type_script(plugin, models["painn"], dump=f"dump_{tag}.atoms")
        out = run_ok(lmp, str(tmp_path), script, extra_args=args)
        d = read_dump(tmp_path / f"dump_{tag}.atoms")
        outs[tag] = (values(out, "ENERGY")[0], np.stack([d["fx"], d["fy"], d["fz"]], 1))
    assert rel(outs["kk"][0], outs["host"][0]) <= 1e-12
    assert rel(outs["kk"][1], outs["host"][1]) <= 1e-12
    oxygen = [k for k, s in enumerate(sym) if s == "O"]
    assert np.abs(outs["kk"][1][oxygen]).max() == 0.0


def test_kk_shipped_water_model_nve(lmp, plugin, kk, tmp_path):
    """200 NVE steps of the shipped water model with lists rebuilt along the way: the /kk
    trajectory on 3 ranks (LAMMPS's communication) and on 1 rank (ghost rows from the owner
    map, rebuilt with the lists; and with `graph no`, through LAMMPS's communication) is the
    host one; the host style's own two ways give the same trajectory."""
    model = os.path.join(ROOT, "potentials", "water", "water_painn.json")
    script_tmpl = """units metal
atom_style atomic
atom_modify map array
read_data {data}
plugin load {plugin}
pair_style mlff/painn {style_args}
pair_coeff * * {model} O H
neighbor 0.3 bin
neigh_modify every 1 delay 0 check yes
velocity all create 300 4928459 mom yes rot yes dist gaussian
fix 1 all nve
timestep 0.0005
thermo 100
run 200
print "FINAL $(pe:%.17g) $(ke:%.17g) $(etotal:%.17g)"
"""
    data = tmp_path / "water.data"
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "examples", "water", "make_box.py"), "32", "3"],
                   cwd=tmp_path, check=True, capture_output=True)
    res = {}
    for tag, args, n, style_args in (("host", (), 1, ""), ("host-comm", (), 1, "graph no"),
                                     ("kk", KK, 3, ""), ("kk-1", KK, 1, ""),
                                     ("kk-1-comm", KK, 1, "graph no")):
        out = run_ok(lmp, str(tmp_path), script_tmpl.format(data=data, plugin=plugin, model=model,
                                                            style_args=style_args),
                     nprocs=n, extra_args=args)
        builds = int(out.split("Neighbor list builds =")[1].split()[0])
        assert builds >= 2, f"{tag}: the lists were not rebuilt during the run ({builds} builds)"
        res[tag] = values(out, "FINAL")
    for tag in ("kk", "kk-1", "kk-1-comm"):
        assert rel(res[tag], res["host"]) <= 1e-9, (tag, res)
    # the same rows, copied from their owners on the engine's side or through LAMMPS
    assert rel(res["host"], res["host-comm"]) == 0.0, res
    assert rel(res["kk-1"], res["kk-1-comm"]) == 0.0, res
    print(f"water 32 molecules, 200 NVE steps, {builds} list builds: kk vs host "
          + ", ".join(f"{t} {rel(res[t], res['host']):.1e}" for t in ("kk", "kk-1", "kk-1-comm")))


def test_error_kk_without_kokkos(lmp, plugin, kk, models, tmp_path):
    sym, pos, cell = structure("molecule")
    write_data(tmp_path / "data.lmp", sym, pos, ELEMENTS, cell)
    rc, out = run(lmp, str(tmp_path), f"""units metal
atom_style atomic
read_data data.lmp
plugin load {plugin}
pair_style mlff/painn/kk
""")
    assert rc != 0
    assert error_message(out) == (
        "ERROR: Pair style mlff/painn/kk requires the KOKKOS package to be enabled: run LAMMPS with "
        "'-k on g 1 -sf kk' (GPU) or '-k on t N -sf kk' (CPU threads), or use mlff/painn"), out[-2000:]


@pytest.mark.parametrize("nprocs", [1, 2])
def test_kk_atoms_added_between_runs(lmp, plugin, kk, models, nprocs, tmp_path):
    """create_atoms between runs: the device frame grows, and the next run equals mlff/painn
    on the final system."""
    from test_lammps_robustness import FORCE_DUMP, forces, header
    sym, pos, _ = structure("molecule")
    keep = len(sym) - 4
    write_data(tmp_path / "data.lmp", sym[:keep], pos[:keep], ELEMENTS, pad=30.0)
    add = "\n".join(f"create_atoms {ELEMENTS.index(s) + 1} single {p[0]:.17g} {p[1]:.17g} "
                    f"{p[2]:.17g} units box" for s, p in zip(sym[keep:], pos[keep:]))
    script = header() + f"""plugin load {plugin}
pair_style mlff/painn
pair_coeff * * {models['painn']} C H O
run 0
{add}
{FORCE_DUMP}
run 0
print "ENERGY $(pe:%.17g)"
"""
    res = {}
    for tag, args in (("host", ()), ("kk", KK)):
        (tmp_path / tag).mkdir()
        (tmp_path / tag / "data.lmp").write_text((tmp_path / "data.lmp").read_text())
        out = run_ok(lmp, str(tmp_path / tag), script, nprocs=nprocs, extra_args=args)
        assert "Created 1 atoms" in out
        res[tag] = (values(out, "ENERGY")[0], forces(tmp_path / tag / "dump.atoms")[0])
    assert len(res["kk"][1]) == len(sym)
    assert rel(res["kk"][0], res["host"][0]) <= 1e-12
    assert rel(res["kk"][1], res["host"][1]) <= 1e-12



@pytest.mark.parametrize("nprocs", [1, 2])
def test_error_kk_nan_coordinate_during_run(lmp, plugin, kk, models, nprocs, tmp_path):
    """The /kk frame checks positions in its edge pass (kokkos/kk_frame.h): a NaN that appears
    during a run stops the style, naming the atom, before the engine sees it."""
    nan_during_run(lmp, plugin, models["painn"], tmp_path, nprocs=nprocs, extra_args=KK,
                   style="mlff/painn/kk")


def test_error_kk_coincident_atoms(lmp, plugin, kk, models, tmp_path):
    line, where = coincident_atoms(lmp, plugin, models["painn"], tmp_path, extra_args=KK)
    # LAMMPS's full list holds the pair both ways: either atom may be named first
    assert line in (f"ERROR on proc 0: Pair style mlff/painn/kk: atoms {a} and {b} are at the same "
                    f"position {where}" for a, b in ((3, 6), (6, 3))), line
