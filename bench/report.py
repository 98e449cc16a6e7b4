"""Render the rows of a ``pytest bench/`` run: a Markdown table and PNG plots.

    python bench/report.py out/bench/results.json [--out DIR]

Writes ``DIR/results.md`` (the tables) and, with matplotlib, ``time_vs_T.png`` (median
time of the scan against T, per provider and mode, log-log), ``memory_vs_T.png`` (bytes
saved for backward and the peak RSS above the inputs, against T) and
``throughput_vs_BN.png`` (neuron-steps per second against B*N).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(__file__))

from rows import bounds_line, markdown  # noqa: E402


def _series(rows, x, y, where):
    out = defaultdict(list)
    for r in rows:
        if y in r and where(r):
            out[(r["provider"], r["mode"])].append((r[x], r[y]))
    return {k: sorted(set(v)) for k, v in out.items()}


def plots(rows, out_dir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    bn_T = max((r["BN"] for r in rows if r.get("test", "").startswith("test_scan_sweep_T")), default=None)

    def draw(series, xlabel, ylabel, title, name, yscale=1.0):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for (prov, mode), pts in sorted(series.items()):
            xs, ys = zip(*pts)
            ax.plot(xs, [v * yscale for v in ys], marker="o", label=f"{prov} {mode}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = os.path.join(out_dir, name)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)

    t_rows = [r for r in rows if r.get("test", "").startswith("test_scan_sweep_T")]
    if t_rows:
        draw(_series(t_rows, "T", "median_s", lambda r: True), "T (steps)", "median time (s)",
             f"MTC scan, B*N = {bn_T}", "time_vs_T.png")
    m_rows = [r for r in rows if r.get("test", "").startswith("test_scan_memory")]
    if m_rows:
        s = _series(m_rows, "T", "saved_bytes_per_neuron_step", lambda r: True)
        s.update({(p, "peak RSS above inputs / neuron-step"): [(t, b / (t * m_rows[0]["BN"])) for t, b in v]
                  for (p, _), v in _series(m_rows, "T", "rss_above_inputs_bytes", lambda r: True).items()})
        s = {(p, "saved for backward" if m == "full" else m): v for (p, m), v in s.items()}
        draw(s, "T (steps)", "bytes per neuron-step", "memory of forward+backward", "memory_vs_T.png")
    b_rows = [r for r in rows if r.get("test", "").startswith("test_scan_sweep_BN")]
    if b_rows:
        draw(_series(b_rows, "BN", "neuron_steps_per_s", lambda r: True), "B*N (neurons)", "neuron-steps / s",
             f"MTC scan throughput, T = {b_rows[0]['T']}", "throughput_vs_BN.png")
    return paths


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    with open(a.results) as f:
        data = json.load(f)
    rows = data["rows"]
    out = a.out or os.path.dirname(os.path.abspath(a.results))
    os.makedirs(out, exist_ok=True)
    text = bounds_line(data.get("limits", {})) + "\n" + markdown(rows)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(text)
    print(text)
    try:
        paths = plots(rows, out)
    except ImportError:
        print("matplotlib not installed: no plots (pip install matplotlib)")
        paths = []
    for p in paths:
        print("wrote", p)


if __name__ == "__main__":
    main()
