"""The three presets show their firing regimes, driven by a step of constant input from
the preset's rest (a spike: an upward crossing of v_th, i.e. the activity leaving zero)."""
import numpy as np
import torch

import mtc_kernels as M
from mtc_kernels.regimes import bursts, spike_times, step_response


def test_rest_is_quiescent_equilibrium():
    for name, info in M.PRESETS.items():
        p = M.preset_params(name, 1, dtype=torch.float64)
        s0 = M.rest_state(p, info["rest_input"]).view(4, 1, 1)
        x = torch.full((3000, 1, 1), info["rest_input"], dtype=torch.float64)
        y, sT = M.mtc_scan(x, p, s0)
        assert float(y.max()) == 0.0, name
        assert torch.allclose(sT, s0, atol=1e-9), name


def test_tonic():
    T = 6000
    sp = spike_times(step_response("tonic", T)[0])
    isi = np.diff(sp)
    assert len(sp) > 20
    assert isi.std() / isi.mean() < 0.2
    assert T - sp[-1] < 2 * isi.mean()  # still spiking at the end of the step


def test_phasic():
    sp = spike_times(step_response("phasic", 6000)[0])
    assert 1 <= len(sp) <= 3, sp
    assert sp[-1] < 200, sp  # all at the onset, then silence while the step lasts


def test_bursting():
    sp = spike_times(step_response("bursting", 8000)[0])
    groups = bursts(sp)
    assert sum(len(g) >= 3 for g in groups) >= 2, [len(g) for g in groups]
    intra = np.concatenate([np.diff(g) for g in groups])
    inter = np.array([b[0] - a[-1] for a, b in zip(groups[:-1], groups[1:])])
    assert intra.max() < inter.min() / 5, (intra.max(), inter.min())
