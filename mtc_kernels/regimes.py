"""Driving single neurons through a preset's firing regime, and reading spikes off the
activity. Used by the demo, the regime plot and the regime tests."""
from __future__ import annotations

from typing import Tuple

import numpy as np
import torch

from .presets import PRESETS, preset_params, rest_state
from .scan import mtc_scan


def step_response(preset: str, T: int, *, backend: str = "auto", with_voltage: bool = False
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """One neuron of ``preset`` at rest, then ``T`` steps of constant ``step_input``.

    Returns ``(y, v)``, each ``[T]`` float64: the activity, and (when ``with_voltage``) the
    membrane ``v'`` after each step, read from the carried state one step at a time (slow:
    for plots of a few thousand steps), else ``None``.
    """
    info = PRESETS[preset]
    p = preset_params(preset, 1, dtype=torch.float64)
    s0 = rest_state(p, info["rest_input"]).view(4, 1, 1)
    x = torch.full((T, 1, 1), info["step_input"], dtype=torch.float64)
    with torch.no_grad():
        y, _ = mtc_scan(x, p, s0, backend=backend)
        v = None
        if with_voltage:
            v, s = np.empty(T), s0
            for t in range(T):
                _, s = mtc_scan(x[t:t + 1], p, s, backend=backend, validate=False)
                v[t] = float(s[0, 0, 0])
    return y[:, 0, 0].numpy(), v


def spike_times(y: np.ndarray) -> np.ndarray:
    """Indices where the activity leaves zero: an upward crossing of ``v_th`` (``y`` is
    exactly zero at or below it). The step before index 0 counts as silent (rest)."""
    active = np.asarray(y) > 0
    prev = np.concatenate([[False], active[:-1]])
    return np.nonzero(active & ~prev)[0]


def bursts(spikes: np.ndarray) -> list:
    """Split spike times into bursts at the intervals longer than half the longest one."""
    if len(spikes) < 2:
        return [spikes]
    isi = np.diff(spikes)
    return np.split(spikes, np.nonzero(isi > isi.max() / 2)[0] + 1)
