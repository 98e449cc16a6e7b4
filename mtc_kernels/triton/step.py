"""The MTC step and its adjoint as Triton device functions: a line-by-line mirror of
``csrc/mtc_step.h`` (``elements``, ``step_tape``, ``activity``, ``step_forward``,
``step_adjoint``). A change to the model lands there, here, in ``python_ref/mtc.py`` and in
MODEL.md.

Every function works on blocks of neurons, in the dtype of its arguments (float32 state for
float16/bfloat16/float32 inputs, float64 for float64). Parameters travel as the 14 separate
blocks of MODEL.md's order, states as ``(v, f, s, u)``.
"""
import triton
import triton.language as tl

try:  # triton >= 3.0
    from triton.language.extra import libdevice
except ImportError:  # pragma: no cover - older layouts
    from triton.language.extra.cuda import libdevice


@triton.jit
def tanh(x, INTERPRET: tl.constexpr):
    """libdevice tanh on a GPU (accurate to ~1-2 ulp; the hardware ``tanh.approx`` is ~5e-4
    relative, too coarse for these excitable dynamics); ``2*sigmoid(2x)-1`` under the
    interpreter, which has no tanh."""
    if INTERPRET:
        return 2.0 * tl.sigmoid(2.0 * x) - 1.0
    else:
        return libdevice.tanh(x)


@triton.jit
def div(a, b, INTERPRET: tl.constexpr):
    """a / b rounded to nearest, as C++ ``/`` and torch do. On a GPU Triton's ``/`` on float32
    is ``div.full.f32`` (approximate, up to 2 ulp), so the correctly rounded ``div_rn``
    (``div.rn.f32``; float64 ``/`` is already ``div.rn.f64``); numpy's ``/`` under the interpreter."""
    if INTERPRET:
        return a / b
    elif a.dtype == tl.float32:
        return tl.math.div_rn(a, b)
    else:
        return a / b


@triton.jit
def elements(d_f, d_sp, d_sn, d_us, f, s, u, INTERPRET: tl.constexpr):
    """The four tanh elements of a step."""
    t_f = tanh(f - d_f, INTERPRET)
    t_sp = tanh(s - d_sp, INTERPRET)
    t_sn = tanh(s - d_sn, INTERPRET)
    t_us = tanh(u - d_us, INTERPRET)
    return t_f, t_sp, t_sn, t_us


@triton.jit
def step_tape(a_f, a_sp, a_sn, a_us, beta_m, v, x, t_f, t_sp, t_sn, t_us):
    """The ionic current and v' from the elements."""
    i_ion = a_f * t_f + a_sp * t_sp + a_sn * t_sn + a_us * t_us
    v_new = v + beta_m * (x - v - i_ion)
    return i_ion, v_new


@triton.jit
def activity(v_th, v_sat, v_new, INTERPRET: tl.constexpr):
    """y = clamp((v' - v_th) / (v_sat - v_th), 0, 1); a NaN stays NaN."""
    z = div(v_new - v_th, v_sat - v_th, INTERPRET)
    return tl.where(z < 0.0, 0.0, tl.where(z > 1.0, 1.0, z))


@triton.jit
def step_forward(a_f, d_f, a_sp, d_sp, a_sn, d_sn, a_us, d_us, beta_m, beta_f, beta_s, beta_us,
                 v_th, v_sat, v, f, s, u, x, INTERPRET: tl.constexpr):
    """One step: returns ``(y, v', f', s', u')``."""
    t_f, t_sp, t_sn, t_us = elements(d_f, d_sp, d_sn, d_us, f, s, u, INTERPRET)
    i_ion, v_new = step_tape(a_f, a_sp, a_sn, a_us, beta_m, v, x, t_f, t_sp, t_sn, t_us)
    f_new = f + beta_f * (v_new - f)
    s_new = s + beta_s * (v_new - s)
    u_new = u + beta_us * (v_new - u)
    return activity(v_th, v_sat, v_new, INTERPRET), v_new, f_new, s_new, u_new


@triton.jit
def step_adjoint(a_f, d_f, a_sp, d_sp, a_sn, d_sn, a_us, d_us, beta_m, beta_f, beta_s, beta_us,
                 v_th, v_sat, v, f, s, u, x, gy, gv, gf, gs, gu, INTERPRET: tl.constexpr):
    """The adjoint of one step (MODEL.md): from the state before the step ``(v, f, s, u)``,
    ``x[t]``, the gradient on ``y[t]`` and the gradient on the state after the step, returns
    ``(gx, gv, gf, gs, gu, d_a_f, d_d_f, d_a_sp, d_d_sp, d_a_sn, d_d_sn, d_a_us, d_d_us,
    d_beta_m, d_beta_f, d_beta_s, d_beta_us, d_v_th, d_v_sat)``: the gradient on ``x[t]``, on
    the state before the step, and this step's contribution to the 14 parameter gradients."""
    t_f, t_sp, t_sn, t_us = elements(d_f, d_sp, d_sn, d_us, f, s, u, INTERPRET)
    i_ion, v_new = step_tape(a_f, a_sp, a_sn, a_us, beta_m, v, x, t_f, t_sp, t_sn, t_us)
    w = v_sat - v_th
    z = div(v_new - v_th, w, INTERPRET)
    gz = tl.where((z >= 0.0) & (z <= 1.0), gy, 0.0)  # torch.clamp's gradient (inclusive)
    G = gv + beta_f * gf + beta_s * gs + beta_us * gu + div(gz, w, INTERPRET)
    bG = beta_m * G
    dt_f = 1.0 - t_f * t_f
    dt_sp = 1.0 - t_sp * t_sp
    dt_sn = 1.0 - t_sn * t_sn
    dt_us = 1.0 - t_us * t_us
    g_beta_m = G * (x - v - i_ion)
    g_beta_f = gf * (v_new - f)
    g_beta_s = gs * (v_new - s)
    g_beta_us = gu * (v_new - u)
    g_v_th = div(gz * (z - 1.0), w, INTERPRET)
    g_v_sat = div(-gz * z, w, INTERPRET)
    gf_new = (1.0 - beta_f) * gf - bG * a_f * dt_f
    gs_new = (1.0 - beta_s) * gs - bG * (a_sp * dt_sp + a_sn * dt_sn)
    gu_new = (1.0 - beta_us) * gu - bG * a_us * dt_us
    gv_new = (1.0 - beta_m) * G
    return (bG, gv_new, gf_new, gs_new, gu_new,
            -bG * t_f, bG * a_f * dt_f, -bG * t_sp, bG * a_sp * dt_sp,
            -bG * t_sn, bG * a_sn * dt_sn, -bG * t_us, bG * a_us * dt_us,
            g_beta_m, g_beta_f, g_beta_s, g_beta_us, g_v_th, g_v_sat)
