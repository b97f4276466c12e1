"""One JSON row from the log of a bench/in.lammps_bench run (bench/lammps.sh, weak_scaling.sh).

    python3 bench/loop_time.py LOG [KEY=VALUE ...]

The row holds the KEY=VALUE pairs (integers where they parse as such) and the median
microseconds per MD step of the last three "Loop time" lines (the timed runs after the
warm-up), or, when the run did not get that far, its first ERROR line.
"""
import json
import re
import statistics
import sys


def row(log, fields):
    text = open(log).read()
    runs = re.findall(r"Loop time of ([0-9.eE+-]+) on (\d+) procs for (\d+) steps with (\d+) atoms", text)
    out = {k: int(v) if v.lstrip("-").isdigit() else v for k, v in fields}
    if len(runs) < 4:
        err = [l for l in text.splitlines() if l.startswith("ERROR")]
        out["error"] = err[0] if err else "no timing in " + log
        return out
    timed = [float(t) / int(n) for t, _, n, _ in runs[-3:]]
    atoms = int(runs[-1][3])
    us = statistics.median(timed) * 1e6
    out.update(ranks=int(runs[-1][1]), atoms=atoms, steps=int(runs[-1][2]), repeats=3,
               us_per_step=round(us, 2), atom_steps_per_s=round(atoms / us * 1e6))
    return out


if __name__ == "__main__":
    print(json.dumps(row(sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]])))
