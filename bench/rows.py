"""The benchmark's result rows: speed-ups within a run, and the Markdown tables."""


def _key(r):
    return (r["op"], r["mode"], r.get("T"), r.get("BN"), r.get("N"), r.get("dtype"), r.get("device"))


def with_ratios(rows):
    """Adds, to each timed row, its speed-up over the eager reference and over the
    compiled step measured in this run at the same op, mode and shape."""
    base = {}
    for r in rows:
        if "median_s" in r and r["provider"] in ("eager", "compiled_step"):
            base[(r["provider"],) + _key(r)] = r["median_s"]
    for r in rows:
        if "median_s" not in r:
            continue
        for prov, name in (("eager", "speedup_vs_eager"), ("compiled_step", "speedup_vs_compiled_step")):
            b = base.get((prov,) + _key(r))
            if b is not None and r["provider"] != prov:
                r[name] = b / r["median_s"]
    return rows


def _fmt(v, spec):
    return "" if v is None else format(v, spec)


def markdown(rows) -> str:
    """The timed rows as a Markdown table, then the memory rows."""
    out = ["| op | provider | mode | T | B*N | K | median | p20-p80 | neuron-steps/s | vs eager | vs compiled | "
           "of copy bound | of FLOP peak |", "|" + "---|" * 13]
    for r in rows:
        if "median_s" not in r:
            continue
        out.append(f"| {r['op']} | {r['provider']} | {r['mode']} | {r['T']} | {r['BN']} | {r['K']} | "
                   f"{_ms(r['median_s'])} | {_ms(r['p20_s'])}-{_ms(r['p80_s'])} | {r['neuron_steps_per_s']:.3g} | "
                   f"{_fmt(r.get('speedup_vs_eager'), '.1f')} | {_fmt(r.get('speedup_vs_compiled_step'), '.1f')} | "
                   f"{_pct(r.get('fraction_of_copy_bound'))} | {_pct(r.get('fraction_of_flop_peak'))} |")
    mem = [r for r in rows if "saved_bytes_per_neuron_step" in r or "peak_rss_bytes" in r or "cuda_peak_bytes" in r]
    if mem:
        out += ["", "| op | provider | T | B*N | K | saved for backward, B/neuron-step | peak RSS (process) | "
                "RSS above inputs | CUDA peak allocated |", "|" + "---|" * 9]
        for r in mem:
            out.append(f"| {r['op']} | {r['provider']} | {r['T']} | {r['BN']} | {r['K']} | "
                       f"{_fmt(r.get('saved_bytes_per_neuron_step'), '.2f')} | {_mib(r.get('peak_rss_bytes'))} | "
                       f"{_mib(r.get('rss_above_inputs_bytes'))} | {_mib(r.get('cuda_peak_bytes'))} |")
    return "\n".join(out) + "\n"


def _ms(s):
    return f"{s * 1e3:.3g} ms" if s < 1 else f"{s:.3g} s"


def _pct(f):
    return "" if f is None else f"{100 * f:.2g}%"


def _mib(b):
    return "" if b is None else f"{b / 2 ** 20:.0f} MiB"


def bounds_line(limits) -> str:
    return (f"Machine bounds measured in this run: copy {limits.get('copy_bandwidth_Bps', 0) / 1e9:.1f} GB/s, "
            f"float32 matmul {limits.get('peak_flops_f32', 0) / 1e9:.0f} GFLOP/s.\n")
