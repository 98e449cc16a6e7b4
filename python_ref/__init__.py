"""Pure-PyTorch references: the MTC neuron (the spec of ``shared/MODEL.md`` as code) and
the LIF / AdLIF baselines. Imports nothing from ``mtc_kernels``."""
from .mtc import (
    BETA_NAMES,
    NUM_PARAMS,
    PARAM_INDEX,
    PARAM_NAMES,
    RIBAR_BURSTING,
    STATE_NAMES,
    make_params,
    mtc_scan_ref,
    mtc_step_ref,
    params_to_dict,
    state_dtype_for,
)
from .lif import lif_ref
from .adlif import adlif_ref
from .surrogate import SURROGATES, Surrogate, arctan, fast_sigmoid, get_spike_fn

__all__ = [
    "BETA_NAMES", "NUM_PARAMS", "PARAM_INDEX", "PARAM_NAMES", "RIBAR_BURSTING", "STATE_NAMES",
    "make_params", "mtc_scan_ref", "mtc_step_ref", "params_to_dict", "state_dtype_for",
    "lif_ref", "adlif_ref", "SURROGATES", "Surrogate", "arctan", "fast_sigmoid", "get_spike_fn",
]
