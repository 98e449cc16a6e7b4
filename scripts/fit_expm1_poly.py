"""Coefficients of the expm1 polynomial in csrc/cpu/fast_tanh.h.

    python scripts/fit_expm1_poly.py

expm1(r) = r + r^2 * Q(r) on |r| <= ln2/2 (the Cody-Waite-reduced range), Q of degree 4,
fitted for the smallest maximum RELATIVE error of expm1 (Lawson's iteratively reweighted
least squares, against mpmath's expm1 at 40 digits), then rounded to float32. Prints the
fit's maximum relative error (about 0.23 float32 ulp before rounding) and the coefficients
Q0..Q4 as C literals. The kernel's tanh error is then measured over every float32 by
csrc/cpu/fast_tanh_check.cpp: the polynomial is only part of it.
"""
import mpmath as mp
import numpy as np

DEGREE = 4
mp.mp.dps = 40
h = float(mp.log(2) / 2) + 1e-3  # a little past the reduced range
r = np.linspace(-h, h, 20001)
r = r[np.abs(r) > 1e-6]
f = np.array([float(mp.expm1(mp.mpf(v))) for v in r])
target = (f - r) / r**2  # what Q must equal
A = r[:, None] ** np.arange(DEGREE + 1)
scale = r**2 / f  # turns an error in Q into a relative error of expm1
w = np.ones_like(r)
for _ in range(100):
    sw = np.sqrt(w) * scale
    c, *_ = np.linalg.lstsq(A * sw[:, None], target * sw, rcond=None)
    err = (r + r**2 * (A @ c) - f) / f
    w *= np.abs(err) + 1e-300
    w /= w.sum()
c32 = c.astype(np.float32)
err32 = np.abs((r + r**2 * (A @ c32.astype(np.float64)) - f) / f).max()
print(f"max relative error of the fit {np.abs(err).max():.3g} ({np.abs(err).max() / 2**-24:.3f} ulp), "
      f"with float32 coefficients {err32:.3g}")
for k, v in enumerate(c32):
    print(f"Q{k} = {float(v):.9e}f")
