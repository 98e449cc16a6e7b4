"""The Mackey-Glass experiment: the generator, the splits, the metrics, and the command's
code path on a tiny configuration."""
import json
import math

import numpy as np
import pytest
import torch

from mtc_kernels.experiments import mackey_glass as exp
from mtc_kernels.experiments.mg_data import mackey_glass, make_splits, nrmse, smape
from mtc_kernels.experiments.mg_models import MGNet, activity_stats


def test_generator_converged_against_a_finer_step():
    coarse = mackey_glass(300, sample_dt=1.0, dt=0.02)
    fine = mackey_glass(300, sample_dt=1.0, dt=0.005)
    assert coarse.shape == (300,)
    assert np.abs(coarse - fine).max() < 1e-6


def test_first_delay_interval_is_exact():
    # For 0 <= t <= tau the delayed term is the (constant) history x0, so the equation is
    # linear: x(t) = c/gamma + (x0 - c/gamma) exp(-gamma t) with c = beta x0 / (1 + x0^n).
    x0, beta, gamma, n = 1.2, 0.2, 0.1, 10.0
    x = mackey_glass(17.0, sample_dt=0.5, history=x0)
    t = 0.5 * np.arange(len(x))
    c = beta * x0 / (1 + x0 ** n)
    exact = c / gamma + (x0 - c / gamma) * np.exp(-gamma * t)
    assert np.abs(x - exact).max() < 1e-12


def test_callable_history_used_at_the_boundary():
    hist = lambda t: 1.0 + 0.2 * np.sin(t)  # noqa: E731
    a = mackey_glass(40.0, sample_dt=0.5, dt=0.02, history=hist)
    b = mackey_glass(40.0, sample_dt=0.5, dt=0.0025, history=hist)
    assert a[0] == hist(np.zeros(1))[0]
    assert np.abs(a - b).max() < 1e-9


def test_attractor_range_and_aperiodic():
    x = mackey_glass(6000, sample_dt=1.0, washout=500)
    assert 0.2 < x.min() and x.max() < 1.4
    z = (x - x.mean()) / x.std()

    def max_autocorr(z):
        return max(float(np.mean(z[:-lag] * z[lag:])) for lag in range(40, 1500))

    assert max_autocorr(z) < 0.9
    # The same check sees a periodic regime (tau = 6) as periodic: the test can fail.
    p = mackey_glass(3000, sample_dt=1.0, washout=500, tau=6.0)
    assert max_autocorr((p - p.mean()) / p.std()) > 0.98


def test_seed_changes_the_trajectory():
    a = mackey_glass(200, seed=1)
    b = mackey_glass(200, seed=2)
    assert not np.allclose(a, b)
    assert np.array_equal(a, mackey_glass(200, seed=1))


def test_bad_steps_rejected():
    with pytest.raises(ValueError, match="multiple of dt"):
        mackey_glass(10, dt=0.03)
    with pytest.raises(ValueError, match="multiple of dt"):
        mackey_glass(10, sample_dt=0.25, dt=0.1)


def test_splits_do_not_overlap():
    raw = mackey_glass(1000, washout=100)
    h = 40
    sp = make_splits(raw, h)
    stretches = [(a, b + h) for a, b in (sp.ranges[k] for k in ("train", "val", "test"))]
    for (a0, b0), (a1, b1) in zip(stretches, stretches[1:]):
        assert b0 <= a1  # the targets of a split stay before the next split's inputs
    assert stretches[-1][1] <= len(raw)
    a, b = sp.ranges["train"]
    assert abs(sp.series[a:b + h].mean()) < 1e-12 and abs(sp.series[a:b + h].std() - 1) < 1e-12
    np.testing.assert_allclose(sp.denormalise(sp.series), raw)
    assert np.array_equal(sp.targets("val"), sp.series[sp.ranges["val"][0] + h:sp.ranges["val"][1] + h])
    with pytest.raises(ValueError, match="too short"):
        make_splits(raw[:100], 50)


def test_metrics_of_perfect_and_constant_predictors():
    y = np.sin(np.linspace(0, 20, 500)) + 2.0
    assert nrmse(y, y) == 0.0 and smape(y, y) == 0.0
    assert nrmse(np.full_like(y, y.mean()), y) == pytest.approx(1.0, abs=1e-12)
    assert smape(np.zeros(3), np.ones(3)) == pytest.approx(200.0)


def test_activity_stats_counts():
    a = torch.tensor([[[0.0, 0.5]], [[1.0, 0.0]]])  # [T=2, B=1, N=2]
    s = activity_stats([a], [3])
    assert s["activity_sparsity"] == 0.5
    assert s["mean_activity"] == pytest.approx(0.375)
    assert s["synops_per_step"] == pytest.approx(2 * 3 / 2)


def test_models_share_width_and_depth():
    nets = {m: MGNet(m, hidden=16, layers=2) for m in ("mtc", "lif", "adlif")}
    u = torch.randn(30, 2, 1)
    for m, net in nets.items():
        z, acts = net(u)
        assert z.shape == (30, 2) and len(acts) == 2 and all(a.shape == (30, 2, 16) for a in acts)
        assert net.fanouts() == [16, 1]
    with pytest.raises(ValueError, match="unknown model"):
        MGNet("gru")


def test_command_on_a_tiny_configuration(tmp_path):
    out = tmp_path / "mg"
    exp.main(["--model", "all", "--steps", "3", "--hidden", "8", "--window", "64", "--warmup", "16",
              "--length", "1500", "--horizon", "50", "--eval-every", "2", "--batch", "2", "--out", str(out)])
    res = json.loads((out / "results.json").read_text())
    assert set(res["models"]) == {"mtc", "lif", "adlif"}
    fields = {"model", "seed", "nrmse", "smape", "val_nrmse", "activity_sparsity", "mean_activity",
              "synops_per_step", "parameters", "train_seconds", "seconds_per_step", "backend", "steps"}
    for m, r in res["models"].items():
        run = r["runs"][0]
        assert fields <= set(run), fields - set(run)
        assert math.isfinite(run["nrmse"]) and 0 <= run["activity_sparsity"] <= 1
        assert run["seed"] == 0 and run["steps"] == 3
    assert res["models"]["mtc"]["runs"][0]["backend"] == "cpu"
    assert set(res["baselines"]) == {"persistence", "ridge"}
    assert res["task"]["horizon_lyapunov_times"] == pytest.approx(50 / 166.666, rel=1e-3)
    assert (out / "predictions.png").exists() and (out / "activity.png").exists()


def test_mtc_activity_window_can_be_moved():
    net = MGNet("mtc", hidden=4, mtc_v_th=3.0)
    p = net.layers[0].params
    from python_ref import PARAM_INDEX
    assert torch.all(p[PARAM_INDEX["v_th"]] == 3.0)
    width = p[PARAM_INDEX["v_sat"]] - p[PARAM_INDEX["v_th"]]
    ref = MGNet("mtc", hidden=4).layers[0].params
    # the same width up to the reparameterisation's relative minimum width (1e-3 * (1 + |v_th|))
    torch.testing.assert_close(width, ref[PARAM_INDEX["v_sat"]] - ref[PARAM_INDEX["v_th"]], rtol=0, atol=4e-3)
