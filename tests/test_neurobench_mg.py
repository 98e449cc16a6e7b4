"""NeuroBench's Mackey-Glass task: our layers visible to its hooks, and the command end to
end on a tiny configuration. Skipped without the extra (pip install -e ".[neurobench]")."""
import json
import os

import numpy as np
import pytest
import torch

neurobench = pytest.importorskip("neurobench", reason='NeuroBench not installed: pip install -e ".[neurobench]"')

from mtc_kernels.experiments import neurobench_mg as nbmg  # noqa: E402
from mtc_kernels.experiments.mg_data import mackey_glass  # noqa: E402


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("mg")
    nbmg.series_file(str(d), points=1700, generator="rk4")
    return str(d)


def test_generated_file_layout(data_dir):
    x = np.load(os.path.join(data_dir, "mg_17.npy"))
    meta = json.load(open(os.path.join(data_dir, "mg_17.json")))
    assert x.shape == (1700,) and x.dtype == np.float64 and "RK4" in meta["generated_by"]
    # sample k is x(tau + k * 197/75) from the constant past 0.7206597
    ref = mackey_glass(3 * 197 / 75, sample_dt=197 / 75, dt=1 / 75, history=0.7206597, washout=17.0)
    np.testing.assert_allclose(x[:3], ref, rtol=0, atol=0)


@pytest.mark.parametrize("model", ["mtc", "lif"])
def test_hooks_count_our_activation_sparsity(data_dir, model):
    from neurobench.benchmarks import Benchmark
    from neurobench.datasets import MackeyGlass
    from neurobench.metrics.workload import ActivationSparsity
    from neurobench.models import TorchModel
    from torch.utils.data import DataLoader, Subset

    mg = MackeyGlass(os.path.join(data_dir, "mg_17.npy"), bin_window=1, download=False)
    net = nbmg.ClosedLoopNet(model, hidden=16, substeps=2, mean=0.9, std=0.25)
    with torch.no_grad():
        net.readout.weight.normal_()  # a readout that feeds something back
    net.mode = "autonomous"
    ours = []
    handle = net.spiking.register_forward_hook(lambda mod, inp, out: ours.append(out.detach().clone()))
    nb_model = TorchModel(net)
    nb_model.add_activation_module(nbmg.SpikingStep)
    loader = DataLoader(Subset(mg, mg.ind_test[:40]), batch_size=40, shuffle=False)
    with torch.no_grad():
        res = Benchmark(nb_model, loader, [], [], [[], [ActivationSparsity]]).run(quiet=True)
    handle.remove()
    acts = torch.cat(ours)
    assert acts.shape == (40 * 2, 1, 16)
    mine = float((acts == 0).double().mean())
    assert 0.0 < mine < 1.0  # a real mix of zero and nonzero activity
    assert res["ActivationSparsity"] == pytest.approx(mine, abs=1e-12)


def test_command_on_a_tiny_configuration(data_dir, tmp_path):
    res = nbmg.main(["--model", "all", "--repeats", "1", "--epochs", "2", "--hidden", "8", "--data", data_dir,
                     "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "results.json").read_text())
    assert set(saved["models"]) == {"mtc", "lif", "adlif"}
    for m, s in saved["models"].items():
        run = s["runs"][0]
        assert np.isfinite(run["smape"]) and 0 <= run["activation_sparsity"] <= 1
        assert {"Effective_MACs", "Effective_ACs", "Dense"} <= set(run["synops"])
        assert run["footprint_bytes"] > 0
    assert res["task"]["data_provenance"].startswith("mtc_kernels RK4")


def test_tuning_grid_uses_validation_only(data_dir):
    args = nbmg.parse_args(["--model", "mtc", "--epochs", "1", "--hidden", "4", "--data", data_dir, "--mtc-v-th", "1"])
    best = nbmg.tune(args, os.path.join(data_dir, "mg_17.npy"), lrs=(1e-2,), scales=(1.0, 2.0))
    v, lr, sc = best["mtc"]
    assert np.isfinite(v) and lr == 1e-2 and sc in (1.0, 2.0)
