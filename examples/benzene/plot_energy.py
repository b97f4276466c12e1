"""Plots total, potential and kinetic energy vs time from energy.dat (written by in.nve) and
reports the drift. Usage: python3 plot_energy.py [energy.dat] [energy.png]"""
import sys

import numpy as np


def main(src="energy.dat", png="energy.png"):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t, et, pe, ke, temp = np.loadtxt(src, unpack=True)
    slope = np.polyfit(t, et, 1)[0]  # eV/ps
    span = et.max() - et.min()
    rel = abs(et[-1] - et[0]) / abs(et[0])
    fig, ax = plt.subplots(3, 1, figsize=(7, 7), sharex=True)
    ax[0].plot(t, et, color="k")
    ax[0].set_ylabel("total (eV)")
    ax[0].set_title(f"NVE: drift {slope * 1e3:+.3f} meV/ps, |E(t)-E(0)|/|E(0)| = {rel:.1e}")
    ax[1].plot(t, pe, color="tab:blue")
    ax[1].set_ylabel("potential (eV)")
    ax[2].plot(t, ke, color="tab:red")
    ax[2].set_ylabel("kinetic (eV)")
    ax[2].set_xlabel("time (ps)")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print(f"{len(t)} samples over {t[-1] - t[0]:.3f} ps, mean T {temp.mean():.0f} K")
    print(f"total energy: drift {slope * 1e3:+.4f} meV/ps, peak-to-peak {span * 1e3:.3f} meV, "
          f"relative |E(t)-E(0)|/|E(0)| = {rel:.2e}")
    print(f"wrote {png}")


if __name__ == "__main__":
    main(*sys.argv[1:])
