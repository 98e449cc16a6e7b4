"""Every bad-input case of MODEL.md raises a clear TypeError/ValueError, on every backend."""
import pytest
import torch

import mtc_kernels as M
from mtc_kernels import mtc_scan

BACKENDS = M.available_backends("cpu") + ["auto"]


def good(T=4, B=2, N=3):
    return torch.randn(T, B, N) - 1.5, M.preset_params("tonic", N), torch.zeros(4, B, N)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "mutate, exc, pattern",
    [
        (lambda x, p, s: (x[0], p, s), ValueError, r"'x' must have shape \[T, B, N\]"),
        (lambda x, p, s: (x, p[:13], s), ValueError, r"'params' must have shape \[14, N\]"),
        (lambda x, p, s: (x, p[:, :2], s), ValueError, r"'params' must have shape \[14, N\] = \[14, 3\]"),
        (lambda x, p, s: (x, p.unsqueeze(0), s), ValueError, r"'params' must have shape \[14, N\]"),
        (lambda x, p, s: (x, p, s[:, :1]), ValueError, r"'state0' must have shape \[4, B, N\] = \[4, 2, 3\]"),
        (lambda x, p, s: (x, p, s[:3]), ValueError, r"'state0' must have shape"),
        (lambda x, p, s: (x.to(torch.int32), p, s), TypeError, r"'x' must have a floating dtype.*int32"),
        (lambda x, p, s: (x > 0, p, s), TypeError, r"'x' must have a floating dtype.*bool"),
        (lambda x, p, s: (x.to(torch.complex64), p, s), TypeError, r"'x' must have a floating dtype.*complex64"),
        (lambda x, p, s: (x, p.to(torch.int64), s), TypeError, r"'params' must have a floating dtype"),
        (lambda x, p, s: (x, p, s.to(torch.int64)), TypeError, r"'state0' must have a floating dtype"),
        (lambda x, p, s: (x.numpy(), p, s), TypeError, r"'x' must be a torch.Tensor"),
        (lambda x, p, s: (x, p.to("meta"), s), ValueError, r"'params' is on meta but 'x' is on cpu"),
        (lambda x, p, s: (x, p, s.to("meta")), ValueError, r"'state0' is on meta but 'x' is on cpu"),
    ],
)
def test_bad_shapes_dtypes_devices(backend, mutate, exc, pattern):
    x, p, s = mutate(*good())
    with pytest.raises(exc, match=pattern):
        mtc_scan(x, p, s, backend=backend)
    # shape/dtype/device checks run even with validate=False
    with pytest.raises(exc, match=pattern):
        mtc_scan(x, p, s, backend=backend, validate=False)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["beta_m", "beta_f", "beta_s", "beta_us"])
@pytest.mark.parametrize("value", [0.0, -0.1, 1.0001, float("nan")])
def test_beta_out_of_range(backend, name, value):
    x, p, s = good()
    p[M.PARAM_NAMES.index(name), 1] = value
    with pytest.raises(ValueError, match=rf"params\['{name}'\] must lie in \(0, 1\].*neuron 1"):
        mtc_scan(x, p, s, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_beta_one_is_allowed(backend):
    x, p, s = good()
    p[M.PARAM_NAMES.index("beta_s")] = 1.0
    mtc_scan(x, p, s, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("v_sat", [0.0, -1.0])
def test_v_sat_not_above_v_th(backend, v_sat):
    x, p, s = good()
    p[M.PARAM_NAMES.index("v_th"), 2] = 0.0
    p[M.PARAM_NAMES.index("v_sat"), 2] = v_sat
    with pytest.raises(ValueError, match=r"params\['v_sat'\] must be greater than params\['v_th'\].*neuron 2"):
        mtc_scan(x, p, s, backend=backend)


def test_validate_false_skips_value_checks_only():
    x, p, s = good()
    p[M.PARAM_NAMES.index("beta_m")] = 0.5
    p[M.PARAM_NAMES.index("beta_s")] = 1.5  # out of range, but not read with validate=False
    y, _ = mtc_scan(x, p, s, backend="reference", validate=False)
    assert y.shape == x.shape


def test_unknown_and_unavailable_backend():
    x, p, s = good()
    with pytest.raises(ValueError, match=r"unknown backend 'tpu'.*expected 'auto' or one of"):
        mtc_scan(x, p, s, backend="tpu")
    with pytest.raises(ValueError, match=r"unknown backend"):
        mtc_scan(x, p, s, backend=3)
    # a registered backend that cannot run on this device says how to get it
    for name in M.backends.names():
        reason = M.backends.get(name).unavailable_reason(torch.device("cpu"))
        if reason is not None:
            with pytest.raises(M.BackendUnavailableError, match="not available for cpu tensors"):
                mtc_scan(x, p, s, backend=name)


def test_cpu_backend_refuses_other_devices():
    reason = M.backends.get("cpu").unavailable_reason(torch.device("cuda"))
    assert reason is not None and "CPU tensors only" in reason
    # through mtc_scan: tensors on another device (meta, which needs no GPU) are refused
    x, p, s = (t.to("meta") for t in good())
    with pytest.raises(M.BackendUnavailableError, match=r"backend 'cpu' is not available for meta tensors.*CPU tensors only"):
        mtc_scan(x, p, s, backend="cpu", validate=False)


@pytest.mark.parametrize("k, exc", [(0, ValueError), (-3, ValueError), (2.5, TypeError), ("4", TypeError), (True, TypeError)])
def test_bad_checkpoint_every(k, exc):
    x, p, s = good()
    with pytest.raises(exc, match="checkpoint_every"):
        mtc_scan(x, p, s, checkpoint_every=k)


def test_nothing_is_broadcast():
    x, p, _ = good()
    with pytest.raises(ValueError, match="state0"):
        mtc_scan(x, p, torch.zeros(4, 1, 3))  # B=1 would broadcast in plain torch
    with pytest.raises(ValueError, match="params"):
        mtc_scan(x, p[:, :1], None)  # N=1 likewise
