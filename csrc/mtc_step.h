// The MTC step and its adjoint: the ONE copy of the math used by every compiled kernel.
//
// MODEL.md ("Discrete time" and "The adjoint of one step") written as __host__ __device__
// inline functions. The CPU kernel (csrc/cpu) and the CUDA kernel (csrc/cuda) include this
// header unchanged; the Triton kernel (mtc_kernels/triton/step.py) mirrors these functions line by
// line. A change to the model lands here, in its Triton mirror, in python_ref/mtc.py and in
// MODEL.md, and nowhere else.
//
// The expressions keep the association order of python_ref (e.g. `x - v - i_ion` is
// `(x - v) - i_ion`) so that, with FMA contraction off, the CPU float64 path reproduces the
// reference up to the rounding of the tanh implementation.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define MTC_HD __host__ __device__ __forceinline__
#elif defined(__GNUC__)
#define MTC_HD inline __attribute__((always_inline))
#else
#define MTC_HD inline
#endif

namespace mtc {

// Rows of the [14, N] params tensor (MODEL.md, "Parameters").
enum ParamRow : int {
  A_F = 0, D_F, A_SP, D_SP, A_SN, D_SN, A_US, D_US,
  BETA_M, BETA_F, BETA_S, BETA_US, V_TH, V_SAT,
  NUM_PARAMS
};
// Rows of the [4, B, N] state tensors.
enum StateRow : int { ST_V = 0, ST_F, ST_S, ST_U, NUM_STATE };

// One neuron's parameters (S: the state/accumulation type, float or double).
template <typename S>
struct Params {
  S a_f, d_f, a_sp, d_sp, a_sn, d_sn, a_us, d_us;
  S beta_m, beta_f, beta_s, beta_us, v_th, v_sat;
};

// Read neuron n's parameters from a [14, N] array with row stride `row_stride`.
template <typename S>
MTC_HD Params<S> load_params(const S* prm, int64_t row_stride, int64_t n) {
  const S* q = prm + n;
  Params<S> p;
  p.a_f = q[A_F * row_stride];       p.d_f = q[D_F * row_stride];
  p.a_sp = q[A_SP * row_stride];     p.d_sp = q[D_SP * row_stride];
  p.a_sn = q[A_SN * row_stride];     p.d_sn = q[D_SN * row_stride];
  p.a_us = q[A_US * row_stride];     p.d_us = q[D_US * row_stride];
  p.beta_m = q[BETA_M * row_stride]; p.beta_f = q[BETA_F * row_stride];
  p.beta_s = q[BETA_S * row_stride]; p.beta_us = q[BETA_US * row_stride];
  p.v_th = q[V_TH * row_stride];     p.v_sat = q[V_SAT * row_stride];
  return p;
}

// The state (v, f, s, u) of one neuron, or the gradient arriving on it.
template <typename S>
struct State {
  S v, f, s, u;
};

// Gradient accumulators of the 14 parameters, same order as ParamRow.
template <typename S>
struct ParamGrads {
  S a_f, d_f, a_sp, d_sp, a_sn, d_sn, a_us, d_us;
  S beta_m, beta_f, beta_s, beta_us, v_th, v_sat;
};

// The forward intermediates of one step that its adjoint needs.
template <typename S>
struct Tape {
  S t_f, t_sp, t_sn, t_us;  // tanh of the four elements
  S i_ion;                  // ionic current
  S v_new;                  // v'
};

// The four tanh elements of a step: the expensive part, which a backward pass may compute
// once while recomputing a chunk and keep for the adjoint.
template <typename S>
struct Elements {
  S t_f, t_sp, t_sn, t_us;
};

// `Tanh` is a functor S -> S: the library tanh, or a vectorisable one on the CPU.
template <typename S, typename Tanh>
MTC_HD Elements<S> elements(const Params<S>& p, const State<S>& st, const Tanh& tanh_fn) {
  Elements<S> e;
  e.t_f = tanh_fn(st.f - p.d_f);
  e.t_sp = tanh_fn(st.s - p.d_sp);
  e.t_sn = tanh_fn(st.s - p.d_sn);
  e.t_us = tanh_fn(st.u - p.d_us);
  return e;
}

// The membrane half of a step, given its elements: the ionic current and v'.
template <typename S>
MTC_HD Tape<S> step_tape(const Params<S>& p, const State<S>& st, S x, const Elements<S>& e) {
  Tape<S> r;
  r.t_f = e.t_f;
  r.t_sp = e.t_sp;
  r.t_sn = e.t_sn;
  r.t_us = e.t_us;
  r.i_ion = p.a_f * r.t_f + p.a_sp * r.t_sp + p.a_sn * r.t_sn + p.a_us * r.t_us;
  r.v_new = st.v + p.beta_m * (x - st.v - r.i_ion);
  return r;
}

// y = clamp((v' - v_th) / (v_sat - v_th), 0, 1); a NaN stays NaN, as in torch.clamp.
template <typename S>
MTC_HD S activity(const Params<S>& p, S v_new) {
  const S z = (v_new - p.v_th) / (p.v_sat - p.v_th);
  return z < S(0) ? S(0) : (z > S(1) ? S(1) : z);
}

// One forward step: advances `st` in place and returns y[t].
template <typename S>
MTC_HD S step_forward(const Params<S>& p, State<S>& st, S x, const Elements<S>& e) {
  const Tape<S> r = step_tape(p, st, x, e);
  st.f = st.f + p.beta_f * (r.v_new - st.f);
  st.s = st.s + p.beta_s * (r.v_new - st.s);
  st.u = st.u + p.beta_us * (r.v_new - st.u);
  st.v = r.v_new;
  return activity(p, r.v_new);
}

// The adjoint (vector-Jacobian product) of one step, MODEL.md "The adjoint of one step".
//   st: the state BEFORE the step (recomputed from a checkpoint), e: its elements,
//   x: x[t], gy: grad on y[t];
//   g:  in: the gradient on the state after the step; out: the gradient on the state before;
//   gp: the 14 parameter gradients, accumulated (+=).
// Returns the gradient on x[t].
template <typename S>
MTC_HD S step_adjoint(const Params<S>& p, const State<S>& st, const Elements<S>& e, S x, S gy,
                      State<S>& g, ParamGrads<S>& gp) {
  const Tape<S> r = step_tape(p, st, x, e);
  const S w = p.v_sat - p.v_th;
  const S z = (r.v_new - p.v_th) / w;
  // The gradient of torch.clamp: passes where 0 <= z <= 1 (inclusive).
  const S gz = (z >= S(0) && z <= S(1)) ? gy : S(0);
  // Total gradient on v' (it feeds y, v and the three filters).
  const S G = g.v + p.beta_f * g.f + p.beta_s * g.s + p.beta_us * g.u + gz / w;
  const S bG = p.beta_m * G;
  const S dt_f = S(1) - r.t_f * r.t_f;
  const S dt_sp = S(1) - r.t_sp * r.t_sp;
  const S dt_sn = S(1) - r.t_sn * r.t_sn;
  const S dt_us = S(1) - r.t_us * r.t_us;

  gp.a_f += -bG * r.t_f;    gp.d_f += bG * p.a_f * dt_f;
  gp.a_sp += -bG * r.t_sp;  gp.d_sp += bG * p.a_sp * dt_sp;
  gp.a_sn += -bG * r.t_sn;  gp.d_sn += bG * p.a_sn * dt_sn;
  gp.a_us += -bG * r.t_us;  gp.d_us += bG * p.a_us * dt_us;
  gp.beta_m += G * (x - st.v - r.i_ion);
  gp.beta_f += g.f * (r.v_new - st.f);
  gp.beta_s += g.s * (r.v_new - st.s);
  gp.beta_us += g.u * (r.v_new - st.u);
  gp.v_th += gz * (z - S(1)) / w;
  gp.v_sat += -gz * z / w;

  g.f = (S(1) - p.beta_f) * g.f - bG * p.a_f * dt_f;
  g.s = (S(1) - p.beta_s) * g.s - bG * (p.a_sp * dt_sp + p.a_sn * dt_sn);
  g.u = (S(1) - p.beta_us) * g.u - bG * p.a_us * dt_us;
  g.v = (S(1) - p.beta_m) * G;
  return bG;
}

// The same two functions computing the elements themselves.
template <typename S, typename Tanh>
MTC_HD S step_forward(const Params<S>& p, State<S>& st, S x, const Tanh& tanh_fn) {
  return step_forward(p, st, x, elements(p, st, tanh_fn));
}
template <typename S, typename Tanh>
MTC_HD S step_adjoint(const Params<S>& p, const State<S>& st, S x, S gy, State<S>& g,
                      ParamGrads<S>& gp, const Tanh& tanh_fn) {
  return step_adjoint(p, st, elements(p, st, tanh_fn), x, gy, g, gp);
}

}  // namespace mtc
