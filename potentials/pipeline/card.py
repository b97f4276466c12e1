"""Writes a model card (README.md beside the model) from the metadata the trainer stored.

Usage: /usr/bin/python3 -m potentials.pipeline.card potentials/benzene/benzene_painn.json [--extra notes.md]
"""
import argparse
import json
import os


def card(model_path, purpose, limits):
    doc = json.load(open(model_path))
    hp = doc["hyperparameters"]
    tr = doc["metadata"]["training"]
    cfg, m = tr["config"], tr["metrics"]
    t = m["test"]
    name = os.path.basename(model_path)
    systems = ", ".join(
        s.get("molecule", s["kind"]) if s["kind"] != "water_cluster" else f"water cluster of {s['n']}"
        for s in cfg["systems"])
    lines = [
        f"# `{name}`", "",
        f"{purpose}", "",
        "| | |", "| --- | --- |",
        f"| family | `painn` (schnetpack 2.x modules; smooth at the cutoff) |",
        f"| elements | {' '.join(cfg['elements'])} |",
        f"| architecture | F = {hp['features']}, {hp['layers']} interaction layers, {hp['radial_basis']['size'] if isinstance(hp.get('radial_basis'), dict) else cfg['model']['basis']} {cfg['model']['basis_kind']} radial functions, cutoff {cfg['model']['cutoff']} Å, SiLU |",
        f"| teacher | {m['teacher']} |",
        f"| training data | {systems}: teacher Langevin MD at {', '.join(map(str, cfg['md']['temperatures']))} K plus random displacements; {m['train_configurations']} training, {m['validation_configurations']} validation configurations |",
        f"| held-out test data | separate teacher MD at {', '.join(map(str, cfg['test']['temperatures']))} K: {t['configurations']} configurations |",
        f"| **force RMSE vs teacher (test)** | **{t['force_rmse_eV_per_A']:.4f} eV/Å** (MAE {t['force_mae_eV_per_A']:.4f}) |",
        f"| **energy MAE vs teacher (test)** | **{t['energy_mae_eV'] * 1e3:.2f} meV** per configuration ({t['energy_mae_meV_per_atom']:.3f} meV/atom) |",
        f"| training | {m['epochs']} epochs, {m['training_seconds']} s on {m.get('device', 'cpu')}, seed {cfg['seed']} |",
        "", "## Limits", "", limits, "",
        "## Reproduce", "",
        "```sh",
        f"/usr/bin/python3 -m potentials.pipeline.generate potentials/pipeline/configs/{cfg['name']}.json",
        f"/usr/bin/python3 -m potentials.pipeline.train potentials/pipeline/configs/{cfg['name']}.json -o {model_path}",
        f"/usr/bin/python3 -m potentials.pipeline.card {model_path}",
        "```", "",
        "Data generation is seeded and takes about a minute (benzene) to a few minutes (water);",
        "training is time-boxed (`train.minutes` in the config), so a rerun on another machine",
        "reaches a similar, not bit-identical, model.", "",
    ]
    return "\n".join(lines)


CARDS = {
    "benzene": ("PaiNN student for an isolated benzene molecule (gas phase), distilled from GFN2-xTB. "
                "It is the model of the main job (`examples/benzene`).",
                "- C and H only; trained on one molecule, so it knows benzene's intramolecular energy surface "
                "between about 300 K and 1000 K and nothing about intermolecular contacts (do not use it for "
                "liquid benzene).\n- No long-range electrostatics or dispersion beyond the 5 Å cutoff.\n"
                "- Accuracy is relative to GFN2-xTB, not to experiment or higher-level quantum chemistry."),
    "organic": ("PaiNN student for small H/C/N/O organic molecules in the gas phase (alcohol, acid, amide, "
                "amine, ester, nitro, pyridine, pyrrole), distilled from GFN2-xTB.",
                "- H, C, N, O only; trained on eight small molecules between 300 K and 900 K: functional "
                "groups and sizes beyond those are extrapolation (larger drug-like molecules such as "
                "aspirin or caffeine are not in the training set yet).\n- Isolated molecules only: no "
                "intermolecular contacts were in the data, no long-range electrostatics beyond 5 Å.\n"
                "- Accuracy is relative to GFN2-xTB.\n- Energies are good within one molecule, not between "
                "molecules: the energy error on the test set is almost a constant per molecule (mean, std in "
                "eV: ethanol −0.063, 0.013; acetic acid −0.148, 0.012; acetamide −0.092, 0.014; pyridine "
                "−0.667, 0.006; pyrrole +0.813, 0.012; methyl formate +0.385, 0.015; ethylamine −0.067, 0.026; "
                "nitromethane −0.005, 0.006). Forces and MD of one molecule are unaffected, but the model "
                "misplaces the isomers acetic acid / methyl formate by 0.53 eV: do not use it for reaction "
                "or isomer energies."),
    "water": ("PaiNN student for water, distilled from GFN2-xTB on water clusters of 8-32 molecules, "
              "for periodic liquid water (`examples/water`).",
              "- H and O only; trained on clusters between 250 K and 450 K; the liquid box is outside the "
              "training set (no periodic teacher data), so liquid properties are an extrapolation.\n"
              "- No long-range electrostatics beyond the 5 Å cutoff; GFN2-xTB's own water structure is "
              "known to be over-structured relative to experiment.\n"
              "- Accuracy is relative to GFN2-xTB."),
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    a = ap.parse_args(argv)
    name = json.load(open(a.model))["metadata"]["training"]["config"]["name"]
    purpose, limits = CARDS[name]
    out = os.path.join(os.path.dirname(a.model), "README.md")
    with open(out, "w") as f:
        f.write(card(a.model, purpose, limits))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
