"""Triton kernels of the fused scan: the same algorithm as ``csrc/cpu`` (checkpoints every
K steps in forward; backward recomputes each chunk from its checkpoint into a scratch buffer,
then runs the adjoint backwards through it).

Each program owns ``BLOCK`` consecutive neurons of the flattened ``B*N`` and loops over time
inside; ``T`` is a runtime argument (one compilation for every sequence length). Every
pointer offset is 64-bit (``mtc_kernels.triton.lowering`` checks it in the compiled IR).
Inputs are read in their own dtype (float16/bfloat16/float32/float64) and computed in the
dtype of ``params`` (float32, or float64 for float64 inputs).

Layouts (elements): ``x``, ``gy`` ``[T, B, N]`` with any T and B strides, neurons
contiguous (``gy`` may also have stride 0 over neurons); ``params`` ``[14, N]``,
states ``[4, B*N]``, ``y``/``gx`` ``[T, B*N]``, ``ckpt`` ``[C, 4, B*N]``, ``scratch``
``[K, 4, B*N]`` (reused by every chunk: on a GPU it stays in L2 for moderate ``B*N``),
``partial`` ``[14, B*N]`` (per-(b, n) parameter gradients, reduced over b afterwards in a
fixed order: no atomics).
"""
import triton
import triton.language as tl

from .step import step_adjoint, step_forward


@triton.jit
def _load_params(p_ptr, N, n, m):
    a_f = tl.load(p_ptr + 0 * N + n, mask=m, other=0.0)
    d_f = tl.load(p_ptr + 1 * N + n, mask=m, other=0.0)
    a_sp = tl.load(p_ptr + 2 * N + n, mask=m, other=0.0)
    d_sp = tl.load(p_ptr + 3 * N + n, mask=m, other=0.0)
    a_sn = tl.load(p_ptr + 4 * N + n, mask=m, other=0.0)
    d_sn = tl.load(p_ptr + 5 * N + n, mask=m, other=0.0)
    a_us = tl.load(p_ptr + 6 * N + n, mask=m, other=0.0)
    d_us = tl.load(p_ptr + 7 * N + n, mask=m, other=0.0)
    beta_m = tl.load(p_ptr + 8 * N + n, mask=m, other=0.0)
    beta_f = tl.load(p_ptr + 9 * N + n, mask=m, other=0.0)
    beta_s = tl.load(p_ptr + 10 * N + n, mask=m, other=0.0)
    beta_us = tl.load(p_ptr + 11 * N + n, mask=m, other=0.0)
    v_th = tl.load(p_ptr + 12 * N + n, mask=m, other=0.0)
    v_sat = tl.load(p_ptr + 13 * N + n, mask=m, other=1.0)  # masked lanes: v_sat - v_th = 1
    return a_f, d_f, a_sp, d_sp, a_sn, d_sn, a_us, d_us, beta_m, beta_f, beta_s, beta_us, v_th, v_sat


@triton.jit
def _load_state(ptr, bn, o, m):
    """The four rows (v, f, s, u) of a [4, B*N] state array at offsets ``o``."""
    return (tl.load(ptr + o, mask=m, other=0.0), tl.load(ptr + bn + o, mask=m, other=0.0),
            tl.load(ptr + 2 * bn + o, mask=m, other=0.0), tl.load(ptr + 3 * bn + o, mask=m, other=0.0))


@triton.jit
def _store_state(ptr, bn, o, m, v, f, s, u):
    tl.store(ptr + o, v, mask=m)
    tl.store(ptr + bn + o, f, mask=m)
    tl.store(ptr + 2 * bn + o, s, mask=m)
    tl.store(ptr + 3 * bn + o, u, mask=m)


# No integer argument is specialised: strides and sizes that may equal 1 would become
# constants (which have no .to(); their products are formed in int64), and specialising the
# others on divisibility by 16 would compile a new variant for every sequence length and
# layer width without making a loop-carried scan any faster.
_NO_SPEC = ["sxt", "sxb", "sgt", "sgb", "BN", "T", "C", "K", "N"]


@triton.jit(do_not_specialize=_NO_SPEC)
def mtc_forward_kernel(x_ptr, sxt, sxb, p_ptr, s0_ptr, y_ptr, sT_ptr, ck_ptr,
                       T, C, K, N, BN, BLOCK: tl.constexpr, INTERPRET: tl.constexpr):
    o = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    m = o < BN
    n = o % N
    b = o // N
    bn = BN.to(tl.int64)
    a_f, d_f, a_sp, d_sp, a_sn, d_sn, a_us, d_us, beta_m, beta_f, beta_s, beta_us, v_th, v_sat = \
        _load_params(p_ptr, N.to(tl.int64), n, m)
    v, f, s, u = _load_state(s0_ptr, bn, o, m)
    x_row = x_ptr + b * sxb.to(tl.int64) + n
    sxt64 = sxt.to(tl.int64)
    for c in range(0, C):
        _store_state(ck_ptr + c * (4 * bn), bn, o, m, v, f, s, u)
        t0 = c * K
        t1 = tl.minimum(t0 + K, T)
        for t in range(t0, t1):
            xt = tl.load(x_row + t * sxt64, mask=m, other=0.0).to(v.dtype)
            y, v, f, s, u = step_forward(a_f, d_f, a_sp, d_sp, a_sn, d_sn, a_us, d_us, beta_m, beta_f,
                                         beta_s, beta_us, v_th, v_sat, v, f, s, u, xt, INTERPRET)
            tl.store(y_ptr + t * bn + o, y.to(y_ptr.dtype.element_ty), mask=m)
    _store_state(sT_ptr, bn, o, m, v, f, s, u)


@triton.jit(do_not_specialize=_NO_SPEC)
def mtc_backward_kernel(x_ptr, sxt, sxb, p_ptr, ck_ptr, gy_ptr, sgt, sgb, gsT_ptr,
                        gx_ptr, part_ptr, gs0_ptr, scr_ptr, T, C, K, N, BN,
                        GY: tl.constexpr, HAS_GST: tl.constexpr, BLOCK: tl.constexpr,
                        INTERPRET: tl.constexpr):
    """GY: 0 no gradient on y, 1 a row of neurons (stride 1), 2 one value per (t, b)."""
    o = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    m = o < BN
    n = o % N
    b = o // N
    bn = BN.to(tl.int64)
    a_f, d_f, a_sp, d_sp, a_sn, d_sn, a_us, d_us, beta_m, beta_f, beta_s, beta_us, v_th, v_sat = \
        _load_params(p_ptr, N.to(tl.int64), n, m)
    zero = tl.zeros((BLOCK,), dtype=a_f.dtype)
    if HAS_GST:
        gv, gf, gs, gu = _load_state(gsT_ptr, bn, o, m)
    else:
        gv = zero
        gf = zero
        gs = zero
        gu = zero
    # The 14 parameter-gradient accumulators of this block's (b, n).
    p0 = zero; p1 = zero; p2 = zero; p3 = zero; p4 = zero; p5 = zero; p6 = zero
    p7 = zero; p8 = zero; p9 = zero; p10 = zero; p11 = zero; p12 = zero; p13 = zero
    x_row = x_ptr + b * sxb.to(tl.int64) + n
    sxt64 = sxt.to(tl.int64)
    gy_row = gy_ptr + b * sgb.to(tl.int64) + (n if GY == 1 else 0 * n)
    sgt64 = sgt.to(tl.int64)
    for cc in range(0, C):
        c = C - 1 - cc
        t0 = c * K
        t1 = tl.minimum(t0 + K, T)
        # Recompute the states before steps t0 .. t1-1 into the scratch.
        v, f, s, u = _load_state(ck_ptr + c * (4 * bn), bn, o, m)
        for t in range(t0, t1):
            _store_state(scr_ptr + (t - t0) * (4 * bn), bn, o, m, v, f, s, u)
            xt = tl.load(x_row + t * sxt64, mask=m, other=0.0).to(v.dtype)
            _, v, f, s, u = step_forward(a_f, d_f, a_sp, d_sp, a_sn, d_sn, a_us, d_us, beta_m, beta_f,
                                         beta_s, beta_us, v_th, v_sat, v, f, s, u, xt, INTERPRET)
        # The adjoint, backwards through the chunk.
        for i in range(0, t1 - t0):
            t = t1 - 1 - i
            v, f, s, u = _load_state(scr_ptr + (t - t0) * (4 * bn), bn, o, m)
            xt = tl.load(x_row + t * sxt64, mask=m, other=0.0).to(v.dtype)
            if GY != 0:
                gyt = tl.load(gy_row + t * sgt64, mask=m, other=0.0).to(v.dtype)
            else:
                gyt = zero
            (gxt, gv, gf, gs, gu, q0, q1, q2, q3, q4, q5, q6, q7, q8, q9, q10, q11, q12, q13) = step_adjoint(
                a_f, d_f, a_sp, d_sp, a_sn, d_sn, a_us, d_us, beta_m, beta_f, beta_s, beta_us, v_th, v_sat,
                v, f, s, u, xt, gyt, gv, gf, gs, gu, INTERPRET)
            p0 += q0; p1 += q1; p2 += q2; p3 += q3; p4 += q4; p5 += q5; p6 += q6
            p7 += q7; p8 += q8; p9 += q9; p10 += q10; p11 += q11; p12 += q12; p13 += q13
            tl.store(gx_ptr + t * bn + o, gxt.to(gx_ptr.dtype.element_ty), mask=m)
    _store_state(gs0_ptr, bn, o, m, gv, gf, gs, gu)
    tl.store(part_ptr + 0 * bn + o, p0, mask=m)
    tl.store(part_ptr + 1 * bn + o, p1, mask=m)
    tl.store(part_ptr + 2 * bn + o, p2, mask=m)
    tl.store(part_ptr + 3 * bn + o, p3, mask=m)
    tl.store(part_ptr + 4 * bn + o, p4, mask=m)
    tl.store(part_ptr + 5 * bn + o, p5, mask=m)
    tl.store(part_ptr + 6 * bn + o, p6, mask=m)
    tl.store(part_ptr + 7 * bn + o, p7, mask=m)
    tl.store(part_ptr + 8 * bn + o, p8, mask=m)
    tl.store(part_ptr + 9 * bn + o, p9, mask=m)
    tl.store(part_ptr + 10 * bn + o, p10, mask=m)
    tl.store(part_ptr + 11 * bn + o, p11, mask=m)
    tl.store(part_ptr + 12 * bn + o, p12, mask=m)
    tl.store(part_ptr + 13 * bn + o, p13, mask=m)
