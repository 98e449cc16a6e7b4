"""Mackey-Glass data for the regression experiment: the series, the task, the metrics.

The Mackey-Glass delay differential equation

    dx/dt = beta * x(t - tau) / (1 + x(t - tau)^n) - gamma * x(t)

(``beta=0.2, gamma=0.1, n=10, tau=17``: MG-17, chaotic, largest Lyapunov exponent about
0.006 per time unit, so one Lyapunov time is about 167 time units).

Integration (:func:`mackey_glass`): classical fourth-order Runge-Kutta with a fixed step
``dt`` that divides ``tau`` exactly, so the delayed value at the start and end of a step is
a stored grid value; the delayed value at the step's midpoint is the cubic Hermite
interpolant of the two neighbouring grid values and their derivatives (fourth-order
accurate, like the solver). For delayed times ``<= 0`` the history function is used
itself, never interpolated across ``t = 0`` where the solution's derivative jumps. With the
default ``dt = 0.02`` halving the step changes the series by less than 1e-9 over the first
300 time units (``tests/test_mackey_glass.py`` checks < 1e-6).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional, Union

import numpy as np

LYAPUNOV_EXPONENT = 0.006  # per time unit, MG-17 (Farmer 1982)
LYAPUNOV_TIME = 1.0 / LYAPUNOV_EXPONENT  # ~167 time units

History = Union[float, Callable[[np.ndarray], np.ndarray]]


def mackey_glass(length: float, *, sample_dt: float = 1.0, dt: float = 0.02, tau: float = 17.0,
                 beta: float = 0.2, gamma: float = 0.1, n: float = 10.0, history: History = 1.2,
                 washout: float = 0.0, seed: Optional[int] = None) -> np.ndarray:
    """Sample the Mackey-Glass series.

    Args:
        length: time units to return (after the washout).
        sample_dt: time between returned samples (a multiple of ``dt``).
        dt: the RK4 step (must divide ``tau`` and ``sample_dt``).
        tau, beta, gamma, n: the equation's parameters.
        history: ``x(t)`` for ``t <= 0``: a constant, or a function of an array of times.
        washout: time units integrated and dropped before the first returned sample.
        seed: when given, the history is the constant ``history`` (if a number) plus a
            uniform perturbation in [-0.1, 0.1] drawn from this seed, so that different
            seeds give different trajectories on the attractor.

    Returns:
        float64 array ``[round(length / sample_dt)]``: ``x(washout + k * sample_dt)``.
    """
    lag = _ratio(tau, dt, "tau")
    stride = _ratio(sample_dt, dt, "sample_dt")
    n_out = int(round(length / sample_dt))
    n_wash = int(round(washout / dt))
    steps = n_wash + (n_out - 1) * stride if n_out > 0 else 0
    if callable(history):
        hist = history
    else:
        x0 = float(history)
        if seed is not None:
            x0 += float(np.random.default_rng(seed).uniform(-0.1, 0.1))
        hist = lambda t: np.full(np.shape(t), x0)  # noqa: E731

    def rhs(x, xd):
        return beta * xd / (1.0 + xd ** n) - gamma * x

    # Past values: the history at t = -lag*dt .. 0 (exactly), then the solution grid.
    t_hist = -dt * np.arange(lag, -1, -1)
    xs = np.empty(lag + 1 + steps)
    xs[: lag + 1] = hist(t_hist)
    # Derivatives on the grid, for the Hermite interpolant of the delayed midpoint value.
    fs = np.empty_like(xs)
    half_hist = hist(t_hist[:-1] + 0.5 * dt)  # delayed midpoints that fall in the history
    for k in range(steps):
        i = lag + k  # index of t_k = k*dt
        x = xs[i]
        d0, d1 = xs[i - lag], xs[i - lag + 1]  # x(t_k - tau), x(t_k + dt - tau): grid values
        f0 = rhs(x, d0)
        fs[i] = f0  # before the interpolant, which needs it when tau == dt
        if k < lag:
            dm = half_hist[k]  # t_k + dt/2 - tau < 0: the history itself
        else:
            j = i - lag  # the delayed step lies between grid points j and j+1, both at t >= 0
            dm = 0.5 * (d0 + d1) + 0.125 * dt * (fs[j] - fs[j + 1])
        k1 = f0
        k2 = rhs(x + 0.5 * dt * k1, dm)
        k3 = rhs(x + 0.5 * dt * k2, dm)
        k4 = rhs(x + dt * k3, d1)
        xs[i + 1] = x + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    sol = xs[lag:]  # t = 0 .. steps*dt
    return sol[n_wash:n_wash + (n_out - 1) * stride + 1:stride].copy() if n_out > 0 else np.empty(0)


def _ratio(a: float, b: float, name: str) -> int:
    r = a / b
    k = int(round(r))
    if k < 1 or abs(r - k) > 1e-9 * max(1.0, r):
        raise ValueError(f"mackey_glass: {name}={a} must be a positive multiple of dt={b}")
    return k


@dataclass
class Splits:
    """Contiguous, non-overlapping train/validation/test ranges of one normalised series.

    ``series`` is the normalised series (sample index ``k`` is time ``k * sample_dt``);
    ``ranges[name] = (start, stop)`` is the range of *input* indices of a split; its
    targets ``series[k + horizon_steps]`` for ``k`` in the range stay inside the split's
    own stretch ``[start, stop + horizon_steps)``, and stretches do not overlap.
    """

    series: np.ndarray
    ranges: Dict[str, tuple]
    horizon_steps: int
    mean: float
    std: float

    def inputs(self, name: str) -> np.ndarray:
        a, b = self.ranges[name]
        return self.series[a:b]

    def denormalise(self, values) -> np.ndarray:
        """Back to the series' original scale."""
        return np.asarray(values, np.float64) * self.std + self.mean

    def targets(self, name: str) -> np.ndarray:
        a, b = self.ranges[name]
        return self.series[a + self.horizon_steps:b + self.horizon_steps]


def make_splits(raw: np.ndarray, horizon_steps: int, fractions=(0.6, 0.2, 0.2)) -> Splits:
    """Cut ``raw`` into train/val/test stretches in time (in this order, no overlap) and
    normalise with the train stretch's mean and standard deviation."""
    if horizon_steps < 0:
        raise ValueError("horizon must be >= 0")
    total = len(raw)
    bounds = np.cumsum([0] + [int(f * total) for f in fractions])
    ranges = {}
    for name, a, b in zip(("train", "val", "test"), bounds[:-1], bounds[1:]):
        stop = b - horizon_steps
        if stop - a < 2:
            raise ValueError(f"make_splits: the {name} split ({b - a} samples) is too short for a horizon of "
                             f"{horizon_steps} samples; generate a longer series")
        ranges[name] = (int(a), int(stop))
    a, b = ranges["train"]
    mean, std = float(raw[a:b + horizon_steps].mean()), float(raw[a:b + horizon_steps].std())
    return Splits((raw - mean) / std, ranges, horizon_steps, mean, std)


def nrmse(pred, target) -> float:
    """Root-mean-square error over the target's standard deviation."""
    pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    return float(np.sqrt(np.mean((pred - target) ** 2)) / np.std(target))


def smape(pred, target) -> float:
    """Symmetric mean absolute percentage error, in percent (0..200), as NeuroBench:
    ``200 * mean(|p - t| / (|p| + |t|))``; pairs with ``|p| + |t| = 0`` count as 0."""
    pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    den = np.abs(pred) + np.abs(target)
    ratio = np.divide(np.abs(pred - target), den, out=np.zeros_like(den), where=den > 0)
    return float(200.0 * ratio.mean())


def horizon_in_lyapunov_times(horizon: float) -> float:
    return horizon / LYAPUNOV_TIME
