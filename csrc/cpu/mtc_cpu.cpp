// The fused CPU kernels (see mtc_cpu.h for layouts). The math is csrc/mtc_step.h.
//
// Work split: the B*N neurons are cut into tiles of TILE consecutive neurons of one batch
// row; OpenMP threads take whole tiles, and each tile runs the whole time loop with its
// state in small stack arrays, the neuron loop innermost so that it vectorises.
//
// Backward walks the checkpoint chunks from the last to the first: it recomputes the
// (at most K) states of the chunk from its checkpoint, with their four tanh elements, into a
// per-thread scratch buffer of K * 8 * TILE numbers (64 KiB for float at K = 32: it stays in
// L2), then runs the adjoint backwards through them without evaluating tanh again, four
// steps per pass over the tile (adjoint_pass). Rows of x, y, gx and gy are prefetched a few
// steps ahead (prefetch_row): a tile's consecutive time rows are a B*N row apart.
// Parameter gradients are accumulated per (b, n) over time, then summed over b in a fixed
// order: no atomics, so repeated runs are bitwise identical.
//
// Built without -ffast-math and with -ffp-contract=off: results do not depend on which
// instruction-set clone runs, and NaNs propagate. -fno-trapping-math (we never unmask FP
// exceptions) lets GCC if-convert the selects of the tanh and of the clamp: without it the
// neuron loops do not vectorise (about 10x slower).
#include "mtc_cpu.h"

#include <algorithm>
#include <cmath>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "../mtc_step.h"
#include "fast_tanh.h"

// Runtime dispatch to AVX-512 / AVX2 / baseline clones of the hot loops: the binary stays
// portable (it runs on any x86-64) and still uses wide vectors where the CPU has them.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(MTC_NO_CLONES)
#define MTC_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define MTC_CLONES
#endif

namespace mtc {
namespace cpu {
namespace {

struct LibTanhD {
  MTC_HD double operator()(double x) const { return std::tanh(x); }
};
template <typename S> struct TanhFor;
template <> struct TanhFor<float> { using type = FastTanhF; };
template <> struct TanhFor<double> { using type = LibTanhD; };

template <typename S> struct Tile { static constexpr int64_t size = 64; };
template <> struct Tile<double> { static constexpr int64_t size = 32; };

// Software prefetch of a tile's slice of a time row a few steps ahead. Consecutive time
// rows of a tile are a whole [B*N] row apart (a new page every step at the sizes that
// matter), which the hardware prefetchers do not follow; at long T the rows come from
// DRAM and nothing else hides that latency (try `python bench/profile_long.py`, whose
// rows come from DRAM). A prefetch never faults; the callers stay inside the arrays anyway.
constexpr int64_t kPrefetchSteps = 4;

template <bool kWrite, typename S>
MTC_HD void prefetch_row(const S* p, int64_t len) {
#if defined(__GNUC__)
  for (int64_t j = 0; j < len; j += 64 / int64_t(sizeof(S))) __builtin_prefetch(p + j, kWrite ? 1 : 0, 3);
#else
  (void)p;
  (void)len;
#endif
}

// Per-tile parameters, transposed to [14][TILE] so each row is a contiguous vector.
template <typename S, int64_t TILE>
struct TileParams {
  S row[NUM_PARAMS][TILE];
  void load(const S* params, int64_t N, int64_t n0, int64_t len) {
    for (int r = 0; r < NUM_PARAMS; ++r)
      for (int64_t j = 0; j < len; ++j) row[r][j] = params[r * N + n0 + j];
  }
  MTC_HD Params<S> at(int64_t j) const { return load_params(&row[0][0], TILE, j); }
};

template <typename S, int64_t TILE>
struct TileState {
  S v[TILE], f[TILE], s[TILE], u[TILE];
  MTC_HD State<S> at(int64_t j) const { return State<S>{v[j], f[j], s[j], u[j]}; }
  MTC_HD void set(int64_t j, const State<S>& st) { v[j] = st.v; f[j] = st.f; s[j] = st.s; u[j] = st.u; }
  // From / to a [4, B, N] array (row stride BN) at offset b*N + n0.
  void load(const S* src, int64_t BN, int64_t off, int64_t len) {
    for (int64_t j = 0; j < len; ++j) {
      v[j] = src[off + j]; f[j] = src[BN + off + j]; s[j] = src[2 * BN + off + j]; u[j] = src[3 * BN + off + j];
    }
  }
  void store(S* dst, int64_t BN, int64_t off, int64_t len) const {
    for (int64_t j = 0; j < len; ++j) {
      dst[off + j] = v[j]; dst[BN + off + j] = f[j]; dst[2 * BN + off + j] = s[j]; dst[3 * BN + off + j] = u[j];
    }
  }
  void zero(int64_t len) {
    for (int64_t j = 0; j < len; ++j) v[j] = f[j] = s[j] = u[j] = S(0);
  }
};

template <typename S, int64_t TILE>
struct TileElements {
  S t_f[TILE], t_sp[TILE], t_sn[TILE], t_us[TILE];
  MTC_HD Elements<S> at(int64_t j) const { return Elements<S>{t_f[j], t_sp[j], t_sn[j], t_us[j]}; }
  MTC_HD void set(int64_t j, const Elements<S>& e) {
    t_f[j] = e.t_f; t_sp[j] = e.t_sp; t_sn[j] = e.t_sn; t_us[j] = e.t_us;
  }
};

// One recomputed step of a tile in the backward scratch: the state before it and its tanh
// elements (computed once here, so the adjoint does no tanh).
template <typename S, int64_t TILE>
struct TileStep {
  TileState<S, TILE> st;
  TileElements<S, TILE> el;
};

template <typename S, int64_t TILE>
struct TileGrads {
  S row[NUM_PARAMS][TILE];
  MTC_HD ParamGrads<S> at(int64_t j) const {
    ParamGrads<S> g;
    S* out = &g.a_f;  // ParamGrads is 14 consecutive S in ParamRow order
    for (int r = 0; r < NUM_PARAMS; ++r) out[r] = row[r][j];
    return g;
  }
  MTC_HD void set(int64_t j, const ParamGrads<S>& g) {
    const S* in = &g.a_f;
    for (int r = 0; r < NUM_PARAMS; ++r) row[r][j] = in[r];
  }
};
static_assert(sizeof(ParamGrads<float>) == NUM_PARAMS * sizeof(float), "ParamGrads layout");
static_assert(sizeof(ParamGrads<double>) == NUM_PARAMS * sizeof(double), "ParamGrads layout");

// ---------------------------------------------------------------- forward, one tile
template <typename S, int64_t TILE>
MTC_HD void forward_tile(const S* x, int64_t sxt, int64_t sxb, const S* params,
                         const S* state0, S* y, S* state_T, S* ckpt, int64_t T, int64_t B,
                         int64_t N, int64_t K, int64_t b, int64_t n0, int64_t len) {
  using Tanh = typename TanhFor<S>::type;
  const Tanh th{};
  const int64_t BN = B * N, off = b * N + n0;
  TileParams<S, TILE> P;
  P.load(params, N, n0, len);
  TileState<S, TILE> st;
  st.load(state0, BN, off, len);
  for (int64_t t = 0; t < T; ++t) {
    if (t % K == 0) st.store(ckpt + (t / K) * NUM_STATE * BN, BN, off, len);
    const S* xt = x + t * sxt + b * sxb + n0;
    S* yt = y + t * BN + off;
    if (t + kPrefetchSteps < T) {
      prefetch_row<false>(xt + kPrefetchSteps * sxt, len);
      prefetch_row<true>(yt + kPrefetchSteps * BN, len);
    }
    for (int64_t j = 0; j < len; ++j) {
      State<S> s = st.at(j);
      yt[j] = step_forward(P.at(j), s, xt[j], th);
      st.set(j, s);
    }
  }
  st.store(state_T, BN, off, len);
}

// ---------------------------------------------------------------- adjoint passes
// The adjoint runs kStepsPerPass steps per pass over a tile: each neuron's gradient state
// and 14 parameter-gradient sums are loaded and stored once per pass, not once per step
// (these loads and stores, more than the arithmetic, bound the adjoint at one step per
// pass). Lane for lane the operations and their order are
// those of one step at a time, so results do not depend on it.
constexpr int kStepsPerPass = 4;

// Where one adjoint step of a tile reads and writes.
template <typename S, int64_t TILE>
struct TileIO {
  const S* x;     // x at (t = 0, b, n0); time stride sxt
  const S* gy;    // gy at (t = 0, b, n0), or nullptr when no gradient arrived on y
  S* gx;          // gx at (t = 0, b, n0); time stride BN
  int64_t sxt, sgt, sgn, BN;
  const TileStep<S, TILE>* scratch;  // the recomputed steps t0 ..
  int64_t t0, len;
};

template <typename S, int64_t TILE>
struct AdjointRow {
  const S* x;
  const S* gy;  // a row of neurons, or nullptr (zeros)
  S* gx;
  const TileStep<S, TILE>* cur;
  // Step t's rows; a gy broadcast over neurons (sgn == 0) is spread into `spread`.
  MTC_HD void at(const TileIO<S, TILE>& io, int64_t t, S* spread) {
    x = io.x + t * io.sxt;
    gy = io.gy ? io.gy + t * io.sgt : nullptr;
    gx = io.gx + t * io.BN;
    cur = io.scratch + (t - io.t0);
    if (gy && io.sgn == 0) {
      for (int64_t j = 0; j < io.len; ++j) spread[j] = gy[0];
      gy = spread;
    }
  }
};

// Steps t, t-1, ..., t-U+1 of the adjoint for every neuron of the tile, one neuron's U
// steps back to back. g, acc: the tile's gradient state and parameter-gradient sums.
template <int U, typename S, int64_t TILE>
MTC_HD void adjoint_pass(const TileParams<S, TILE>& P, const TileIO<S, TILE>& io, int64_t t,
                         TileState<S, TILE>& g, TileGrads<S, TILE>& acc, S (*spread)[TILE]) {
  AdjointRow<S, TILE> row[U];
  for (int u = 0; u < U; ++u) row[u].at(io, t - u, spread[u]);
  for (int u = 0; u < U; ++u) {  // the rows of the next pass (earlier in time)
    const int64_t tp = t - U - u;
    if (tp < 0) break;
    prefetch_row<false>(io.x + tp * io.sxt, io.len);
    prefetch_row<true>(io.gx + tp * io.BN, io.len);
    if (io.gy && io.sgn) prefetch_row<false>(io.gy + tp * io.sgt, io.len);
  }
  // Neurons are independent: without this GCC gives up vectorising for the number of
  // runtime alias checks between the rows.
#pragma GCC ivdep
  for (int64_t j = 0; j < io.len; ++j) {
    State<S> gs = g.at(j);
    ParamGrads<S> gp = acc.at(j);
    const Params<S> pj = P.at(j);
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) {
      const AdjointRow<S, TILE>& r = row[u];
      r.gx[j] = step_adjoint(pj, r.cur->st.at(j), r.cur->el.at(j), r.x[j], r.gy ? r.gy[j] : S(0), gs, gp);
    }
    g.set(j, gs);
    acc.set(j, gp);
  }
}

// ---------------------------------------------------------------- backward, one tile
// `scratch` holds K recomputed steps (state and elements) of the tile. `partial` is this
// tile's [14][len] slot of the per-batch-row parameter gradients ([B, 14, N], row stride N).
template <typename S, int64_t TILE>
MTC_HD void backward_tile(const S* x, int64_t sxt, int64_t sxb, const S* params,
                          const S* ckpt, const S* gy, int64_t sgt, int64_t sgb,
                          int64_t sgn, const S* gstate_T, S* gx, S* partial, S* gstate0,
                          TileStep<S, TILE>* scratch, int64_t T, int64_t B, int64_t N,
                          int64_t K, int64_t b, int64_t n0, int64_t len) {
  using Tanh = typename TanhFor<S>::type;
  const Tanh th{};
  const int64_t BN = B * N, off = b * N + n0;
  TileParams<S, TILE> P;
  P.load(params, N, n0, len);
  TileState<S, TILE> g;  // gradient on the state after the current step
  if (gstate_T) g.load(gstate_T, BN, off, len); else g.zero(len);
  TileGrads<S, TILE> acc;
  S spread[kStepsPerPass][TILE];  // gy rows broadcast over neurons, spread out
  for (int r = 0; r < NUM_PARAMS; ++r)
    for (int64_t j = 0; j < len; ++j) acc.row[r][j] = S(0);

  const int64_t C = (T + K - 1) / K;
  for (int64_t c = C - 1; c >= 0; --c) {
    const int64_t t0 = c * K, t1 = std::min(T, t0 + K);
    // Recompute the states before steps t0 .. t1-1, and their elements, from the checkpoint.
    scratch[0].st.load(ckpt + c * NUM_STATE * BN, BN, off, len);
    for (int64_t t = t0; t < t1; ++t) {
      const S* xt = x + t * sxt + b * sxb + n0;
      if (t + kPrefetchSteps < t1) prefetch_row<false>(xt + kPrefetchSteps * sxt, len);
      TileStep<S, TILE>& cur = scratch[t - t0];
      if (t + 1 < t1) {
        TileState<S, TILE>& nxt = scratch[t - t0 + 1].st;
        for (int64_t j = 0; j < len; ++j) {
          State<S> s = cur.st.at(j);
          const Elements<S> e = elements(P.at(j), s, th);
          cur.el.set(j, e);
          (void)step_forward(P.at(j), s, xt[j], e);
          nxt.set(j, s);
        }
      } else {
        for (int64_t j = 0; j < len; ++j) cur.el.set(j, elements(P.at(j), cur.st.at(j), th));
      }
    }
    // The next chunk's recompute starts with its checkpoint and first rows of x: fetch them
    // while this chunk's adjoint runs (within a chunk the loops prefetch ahead themselves).
    if (c > 0) {
      const int64_t tn = (c - 1) * K;
      for (int r = 0; r < NUM_STATE; ++r) prefetch_row<false>(ckpt + ((c - 1) * NUM_STATE + r) * BN + off, len);
      for (int64_t u = 0; u < std::min(kPrefetchSteps, K); ++u)
        prefetch_row<false>(x + (tn + u) * sxt + b * sxb + n0, len);
    }
    // The adjoint, backwards through the chunk (see adjoint_pass).
    const TileIO<S, TILE> io{x + b * sxb + n0, gy ? gy + b * sgb + n0 * sgn : nullptr, gx + off,
                             sxt, sgt, sgn, BN, scratch, t0, len};
    int64_t t = t1 - 1;
    for (; t - (kStepsPerPass - 1) >= t0; t -= kStepsPerPass)
      adjoint_pass<kStepsPerPass>(P, io, t, g, acc, spread);
    for (; t >= t0; --t) adjoint_pass<1>(P, io, t, g, acc, spread);
  }
  g.store(gstate0, BN, off, len);
  for (int r = 0; r < NUM_PARAMS; ++r)
    for (int64_t j = 0; j < len; ++j) partial[r * N + j] = acc.row[r][j];
}

// Instruction-set clones of the tile functions: one overload per S (target_clones does not
// apply to templates).
#define MTC_DEFINE_TILES(S)                                                                  \
  MTC_CLONES void forward_tile_isa(const S* x, int64_t sxt, int64_t sxb, const S* params,    \
                                   const S* state0, S* y, S* state_T, S* ckpt, int64_t T,    \
                                   int64_t B, int64_t N, int64_t K, int64_t b, int64_t n0,   \
                                   int64_t len) {                                            \
    forward_tile<S, Tile<S>::size>(x, sxt, sxb, params, state0, y, state_T, ckpt, T, B, N, K, \
                                   b, n0, len);                                              \
  }                                                                                          \
  MTC_CLONES void backward_tile_isa(                                                         \
      const S* x, int64_t sxt, int64_t sxb, const S* params, const S* ckpt, const S* gy,     \
      int64_t sgt, int64_t sgb, int64_t sgn, const S* gstate_T, S* gx, S* partial,           \
      S* gstate0, TileStep<S, Tile<S>::size>* scratch, int64_t T, int64_t B, int64_t N,      \
      int64_t K, int64_t b, int64_t n0, int64_t len) {                                       \
    backward_tile<S, Tile<S>::size>(x, sxt, sxb, params, ckpt, gy, sgt, sgb, sgn, gstate_T,  \
                                    gx, partial, gstate0, scratch, T, B, N, K, b, n0, len);  \
  }
MTC_DEFINE_TILES(float)
MTC_DEFINE_TILES(double)
#undef MTC_DEFINE_TILES

// Large outputs are fresh allocations (torch returns big CPU blocks to the OS), so every
// call first-touches them page by page: for y at T*B*N = 8M floats that is 8,192 page
// faults, as long as the kernel itself. Asking for transparent huge pages on the 2 MiB-
// aligned interior of the buffer (a hint; harmless where THP is off) cuts that ~500-fold.
void advise_huge_pages(void* ptr, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t huge = uintptr_t(2) << 20;
  if (bytes < 2 * huge) return;
  const uintptr_t lo = (reinterpret_cast<uintptr_t>(ptr) + huge - 1) & ~(huge - 1);
  const uintptr_t hi = (reinterpret_cast<uintptr_t>(ptr) + bytes) & ~(huge - 1);
  if (hi > lo) (void)madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
#else
  (void)ptr;
  (void)bytes;
#endif
}

int threads_for(int requested, int64_t jobs) {
  int n = requested > 0 ? requested : 1;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(n, jobs)));
}

}  // namespace

bool has_openmp() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

template <typename S>
void scan_forward(const S* x, int64_t sxt, int64_t sxb, const S* params, const S* state0,
                  S* y, S* state_T, S* ckpt, int64_t T, int64_t B, int64_t N, int64_t K,
                  int num_threads) {
  constexpr int64_t TILE = Tile<S>::size;
  const int64_t tiles_n = (N + TILE - 1) / TILE, jobs = B * tiles_n;
  const int nt = threads_for(num_threads, jobs);
  (void)nt;
  advise_huge_pages(y, sizeof(S) * size_t(T * B * N));
  advise_huge_pages(ckpt, sizeof(S) * size_t(((T + K - 1) / K) * NUM_STATE * B * N));
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int64_t job = 0; job < jobs; ++job) {
    const int64_t b = job / tiles_n, n0 = (job % tiles_n) * TILE;
    forward_tile_isa(x, sxt, sxb, params, state0, y, state_T, ckpt, T, B, N, K, b, n0,
                     std::min(TILE, N - n0));
  }
}

template <typename S>
void scan_backward(const S* x, int64_t sxt, int64_t sxb, const S* params, const S* ckpt,
                   const S* gy, int64_t sgt, int64_t sgb, int64_t sgn, const S* gstate_T,
                   S* gx, S* gparams, S* gstate0, int64_t T, int64_t B, int64_t N, int64_t K,
                   int num_threads) {
  constexpr int64_t TILE = Tile<S>::size;
  const int64_t tiles_n = (N + TILE - 1) / TILE, jobs = B * tiles_n;
  const int nt = threads_for(num_threads, jobs);
  (void)nt;
  std::vector<S> partial(static_cast<size_t>(B * NUM_PARAMS * N));  // [B, 14, N]
  advise_huge_pages(gx, sizeof(S) * size_t(T * B * N));
#pragma omp parallel num_threads(nt)
  {
    std::vector<TileStep<S, TILE>> scratch(static_cast<size_t>(std::max<int64_t>(1, std::min(K, T))));
#pragma omp for schedule(static)
    for (int64_t job = 0; job < jobs; ++job) {
      const int64_t b = job / tiles_n, n0 = (job % tiles_n) * TILE;
      backward_tile_isa(x, sxt, sxb, params, ckpt, gy, sgt, sgb, sgn, gstate_T, gx,
                        partial.data() + b * NUM_PARAMS * N + n0, gstate0, scratch.data(),
                        T, B, N, K, b, n0, std::min(TILE, N - n0));
    }
  }
  // Deterministic reduction over the batch: b ascending, for every (row, n).
  const int64_t RN = NUM_PARAMS * N;
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int64_t i = 0; i < RN; ++i) {
    S sum = S(0);
    for (int64_t b = 0; b < B; ++b) sum += partial[b * RN + i];
    gparams[i] = sum;
  }
}

template void scan_forward<float>(const float*, int64_t, int64_t, const float*, const float*, float*, float*, float*, int64_t, int64_t, int64_t, int64_t, int);
template void scan_forward<double>(const double*, int64_t, int64_t, const double*, const double*, double*, double*, double*, int64_t, int64_t, int64_t, int64_t, int);
template void scan_backward<float>(const float*, int64_t, int64_t, const float*, const float*, const float*, int64_t, int64_t, int64_t, const float*, float*, float*, float*, int64_t, int64_t, int64_t, int64_t, int);
template void scan_backward<double>(const double*, int64_t, int64_t, const double*, const double*, const double*, int64_t, int64_t, int64_t, const double*, double*, double*, double*, int64_t, int64_t, int64_t, int64_t, int);

}  // namespace cpu
}  // namespace mtc
