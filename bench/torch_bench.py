"""PyTorch baseline for the benchmark: the same model and weights (weights/reference.py, the
project's PyTorch implementation of format v1, edge-vectorised with index_add), float32 on the
GPU, forces by autograd, eager and torch.compile. Prints one JSON object per mode, like
mlff_painn_bench.

    python3 bench/torch_bench.py --model M.json --system S.sys [--modes eager compile]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from scipy.spatial import cKDTree

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
from systems import read_sys  # noqa: E402
from weights.reference import Reference  # noqa: E402


def pairs(x, box, rc):
    tree = cKDTree(x, boxsize=box) if box is not None else cKDTree(x)
    p = tree.query_pairs(rc, output_type="ndarray")
    return np.concatenate([p[:, 0], p[:, 1]]), np.concatenate([p[:, 1], p[:, 0]])


def median_ms(fn, warmup, repeat):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        times.append(a.elapsed_time(b))
    return float(np.median(times)), float(np.min(times))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--system", required=True)
    p.add_argument("--modes", nargs="*", default=["eager", "compile"])
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeat", type=int, default=10)
    a = p.parse_args()
    dev, dt = "cuda", torch.float32
    ref = Reference.from_file(a.model, dtype=dt, device=dev)
    x, z, box = read_sys(a.system)
    by_z = {s["atomic_number"]: s for s in ref.doc["species"]}
    rows = torch.tensor([by_z[int(k)]["embedding_row"] for k in z], device=dev)
    eref = torch.tensor([by_z[int(k)]["reference_energy"] for k in z], dtype=dt, device=dev)
    ii, jj = pairs(x, box, ref.h["cutoff"])
    i = torch.as_tensor(ii, dtype=torch.long, device=dev)
    j = torch.as_tensor(jj, dtype=torch.long, device=dev)
    L = torch.as_tensor(box, dtype=dt, device=dev) if box is not None else None
    R0 = torch.as_tensor(x, dtype=dt, device=dev)

    def energy(R):
        Rij = R[j] - R[i]
        if L is not None:
            Rij = Rij - L * torch.round(Rij / L)  # minimum image (box side > 2 r_c)
        return ref.atom_energies(rows, eref, Rij, i, j).sum()

    for mode in a.modes:
        fn = torch.compile(energy) if mode == "compile" else energy
        out = {"model": a.model, "family": ref.family, "system": a.system, "atoms": len(z),
               "edges": len(ii), "precision": "fp32", "path": f"torch-{mode}",
               "space": torch.cuda.get_device_name(), "torch": torch.__version__}

        def step():
            R = R0.clone().requires_grad_(True)
            E = fn(R)
            (g,) = torch.autograd.grad(E, R)
            return E, g

        try:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            E, _ = step()
            out["energy"] = float(E)
            out["median_us"], out["min_us"] = (1e3 * v for v in median_ms(step, a.warmup, a.repeat))
            out["atom_steps_per_s"] = len(z) / (out["median_us"] * 1e-6)
            out["device_bytes"] = torch.cuda.max_memory_allocated() - base
        except torch.cuda.OutOfMemoryError:
            out["error"] = "out of GPU memory"
        except Exception as e:  # torch.compile failures are reported, not fatal
            out["error"] = f"{type(e).__name__}: {str(e)[:200]}"
        print(json.dumps(out), flush=True)
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
