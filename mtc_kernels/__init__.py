"""mtc-kernels: fused CPU / Triton / CUDA kernels for multi-timescale conductance (MTC)
spiking neurons, with exact backpropagation through long windows.

Public API:

* :func:`mtc_scan` - the kernel-level function (MODEL.md), dispatching to a backend.
* :class:`MTCLayer`, :class:`LIFLayer`, :class:`AdLIFLayer` - ``nn.Module`` layers.
* :data:`PARAM_NAMES`, :func:`make_params`, presets - building parameters.
* :func:`available_backends` - which backends run on a device.
"""
from python_ref import PARAM_NAMES, STATE_NAMES, make_params

from . import backends
from .backends import BackendUnavailableError
from .layers import AdLIFLayer, LIFLayer, MTCLayer
from .ops import MTCScanFunction
from .presets import PRESETS, preset_params, preset_values, rest_state
from .scan import mtc_scan
from .streaming import scan_in_windows

__version__ = "0.1.0"


def available_backends(device="cpu"):
    """Names of the backends that can run on ``device`` (e.g. ``"cpu"``, ``"cuda"``)."""
    return backends.available(device)


__all__ = [
    "mtc_scan", "MTCLayer", "LIFLayer", "AdLIFLayer", "MTCScanFunction", "PARAM_NAMES", "STATE_NAMES",
    "make_params", "PRESETS", "preset_params", "preset_values", "rest_state", "available_backends",
    "BackendUnavailableError", "scan_in_windows", "__version__",
]
