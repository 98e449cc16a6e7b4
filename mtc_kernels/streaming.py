"""Very long sequences, window by window, carrying the neuron state.

Any layer of this package (``MTCLayer``, ``LIFLayer``, ``AdLIFLayer``) takes
``state=`` and returns ``(y, state_T)`` with ``return_state=True``; a long sequence can
therefore be processed in windows:

* **exact** (``detach=False``): the state passed on stays in the autograd graph, so a
  backward through the concatenated outputs is the same as through one long window --
  values and gradients (tested in ``tests/test_training_stack.py``); memory is that of all
  windows' graphs.
* **truncated BPTT** (``detach=True``): the carried state is detached, so each window's
  gradient stops at its start; call ``backward`` (and the optimiser) per window to keep
  the memory of one window. The usual training loop::

      state = None
      for x_win, target_win in zip(inp.split(W), target.split(W)):   # time-major
          y, state = layer(x_win, state=state, return_state=True)
          loss_fn(readout(y), target_win).backward()
          opt.step(); opt.zero_grad()
          state = state.detach()

:func:`scan_in_windows` does the forward part for a whole sequence at once.
"""
from __future__ import annotations

from typing import Iterator, Optional, Tuple

import torch
from torch import nn


def windows(inp: torch.Tensor, size: int, *, time_dim: int = 0) -> Iterator[torch.Tensor]:
    """Consecutive windows of ``size`` steps along ``time_dim`` (the last may be shorter)."""
    if size < 1:
        raise ValueError(f"windows: size must be a positive int, got {size}")
    return iter(inp.split(size, dim=time_dim))


def scan_in_windows(layer: nn.Module, inp: torch.Tensor, window: int, state: Optional[torch.Tensor] = None,
                    *, detach: bool = False) -> Tuple[torch.Tensor, torch.Tensor]:
    """Run ``layer`` over ``inp`` in windows of ``window`` steps, carrying the state.

    Args:
        layer: a layer of this package (its ``batch_first`` decides the time dimension).
        inp: ``[T, B, F]`` (``[B, T, F]`` if ``layer.batch_first``).
        window: steps per window.
        state: the initial state (``None``: the layer's default).
        detach: detach the state carried between windows (truncated BPTT); ``False`` keeps
            the gradient exact.

    Returns:
        ``(y, state_T)``: the activity of the whole sequence (concatenated) and the final state.
    """
    dim = 1 if getattr(layer, "batch_first", False) else 0
    ys = []
    for i, chunk in enumerate(windows(inp, window, time_dim=dim)):
        if detach and i > 0:
            state = state.detach()  # the carried state only: the final one keeps its graph
        y, state = layer(chunk, state=state, return_state=True)
        ys.append(y)
    if not ys:
        y, state = layer(inp, state=state, return_state=True)
        return y, state
    return torch.cat(ys, dim), state
