"""Table (markdown) and plot (PNG) of a bench/run.sh results.jsonl.

    python3 bench/report.py results.jsonl OUTDIR
"""
import json
import os
import sys
from collections import defaultdict


def load(path):
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip().startswith("{")]
    for r in rows:  # calls recorded as a CUDA graph are a path of their own
        if r.get("graph") is True:
            r["path"] += "+graph"
    return rows


def label(r):
    return "benzene" if "benzene" in r["system"] else "water box"


def table(rows):
    best_torch = defaultdict(lambda: None)
    for r in rows:
        if r["path"].startswith("torch") and "median_us" in r:
            k = (r["family"], r["atoms"])
            if best_torch[k] is None or r["median_us"] < best_torch[k]:
                best_torch[k] = r["median_us"]
    out = ["| system | atoms | edges | family | precision | radial filter | path | µs/step | "
           "M atom-steps/s | GPU bytes/atom | speed-up vs best PyTorch |", "|" + " --- |" * 11]
    for r in sorted(rows, key=lambda r: (r.get("family", ""), r.get("atoms", 0), r.get("path", ""),
                                         r.get("precision", ""), r.get("table", 0))):
        filt = f"table {r['table']}" if r.get("table") else "exact"
        if "median_us" not in r:
            out.append(f"| {label(r) if 'system' in r else '?'} | {r.get('atoms', '')} | "
                       f"{r.get('edges', '')} | {r.get('family', '')} | {r.get('precision', '')} | "
                       f"{filt} | {r.get('path', '')} | {r.get('error', 'failed')} | | | |")
            continue
        bt = best_torch[(r["family"], r["atoms"])]
        ratio = "" if r["path"].startswith("torch") or bt is None else f"{bt / r['median_us']:.1f}×"
        out.append(f"| {label(r)} | {r['atoms']} | {r['edges']} | {r['family']} | {r['precision']} | "
                   f"{filt} | {r['path']} | {r['median_us']:.1f} | {r['atom_steps_per_s'] / 1e6:.3f} | "
                   f"{r['device_bytes'] / r['atoms']:.0f} | {ratio} |")
    return "\n".join(out)


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, fam in zip(axes, ["painn", "mlff-distiller"]):
        ax.set_prop_cycle(color=plt.cm.tab20.colors)  # one colour per series
        series = defaultdict(list)
        for r in rows:
            if r.get("family") == fam and "median_us" in r and "water" in r["system"]:
                filt = f" table {r['table']}" if r.get("table") else ""
                series[f"{r['path']} {r['precision']}{filt}"].append((r["atoms"], r["atom_steps_per_s"]))
        for name, pts in sorted(series.items()):
            pts.sort()
            ax.loglog(*zip(*pts), "o-" if not name.startswith("torch") else "s--", label=name)
        ax.axhline(5e6, color="grey", lw=0.8, ls=":")
        ax.set_title(f"{fam} (water boxes, ~50 neighbours/atom)")
        ax.set_xlabel("atoms")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("atom-steps per second (one force call)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    rows = load(sys.argv[1])
    out = sys.argv[2]
    md = table(rows)
    with open(os.path.join(out, "RESULTS-table.md"), "w") as f:
        f.write(md + "\n")
    print(md)
    try:
        plot(rows, os.path.join(out, "scaling.png"))
    except ImportError as e:
        print(f"no plot: {e}")


if __name__ == "__main__":
    main()
