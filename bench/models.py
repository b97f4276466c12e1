"""Benchmark models, written as format-v1 JSON.

- painn: the shipped students (benzene, water): F = 64, 3 layers, 20 Gaussians, r_c = 5 A.
- mlff-distiller with the seed student's architecture (F = 128, 3 layers, K = 20, filter and
  update hidden width 128, r_c = 5 A: the seed's layer sizes) and random weights: the seed's own
  weights are test data only and never leave ../shared.

    /usr/bin/python3 bench/models.py OUTDIR
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from weights.export_common import write_json  # noqa: E402
from weights.export_distiller import from_state_dict  # noqa: E402

F, K, L = 128, 20, 3


def seed_architecture(seed=0):
    """Random weights scaled by 1/sqrt(fan_in), so activations stay O(1) through the layers."""
    g = torch.Generator().manual_seed(seed)

    def lin(o, i):
        return torch.randn(o, i, generator=g) / i ** 0.5, 0.1 * torch.randn(o, generator=g)

    sd = {"embedding.weight": torch.randn(101, F, generator=g),
          "rbf.centers": torch.linspace(0, 5.0, K), "rbf.widths": torch.full((K,), 5.0 / (K - 1))}
    for l in range(L):
        p = f"interactions.{l}."
        for name, (o, i) in {"message.rbf_to_scalar.0": (F, K), "message.rbf_to_scalar.2": (3 * F, F),
                             "update.update_mlp.0": (F, 2 * F), "update.update_mlp.2": (3 * F, F)}.items():
            sd[p + name + ".weight"], sd[p + name + ".bias"] = lin(o, i)
        sd[p + "update.mixing_matrix"] = torch.eye(3) + 0.1 * torch.randn(3, 3, generator=g)
    for k, (o, i) in enumerate([(F // 2, F), (F // 4, F // 2), (1, F // 4)]):
        sd[f"energy_head.{2 * k}.weight"], sd[f"energy_head.{2 * k}.bias"] = lin(o, i)
    return sd


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    sd = seed_architecture()
    n = sum(v.numel() for k, v in sd.items() if not k.startswith("rbf."))
    doc = from_state_dict(sd, ["H", "C", "O"], "random weights, seed architecture", "bench/models.py")
    write_json(doc, os.path.join(out, "seed_arch.json"))
    print(f"seed_arch.json: mlff-distiller, {n} parameters")


if __name__ == "__main__":
    main()
