/* anbn — the backend plugin ABI.
 *
 * A plugin is a shared library libanbn-<name>.so exporting one symbol,
 *     const anbn_backend_iface *anbn_backend_entry(uint32_t index);
 * which returns its index-th backend table (NULL past the last).  The first
 * two fields of a table are fixed forever so the loader can check them
 * before it touches anything else.  A backend does numerics only; the core
 * owns corpus, order, evaluation, stepping, checkpoints.
 *
 * Parameters are one flat float array in canonical order:
 *   embedding.weight (V,E); per layer l: weight_ih (G*H,in), weight_hh (G*H,H),
 *   bias_ih (G*H), bias_hh (G*H), for the peephole cell weight_peephole (3,H);
 *   fc.weight (O,H); fc.bias (O).
 * Adam state (exp_avg, exp_avg_sq) has the same layout.
 *
 * Every fallible method returns an anbn_status and, on failure, writes a
 * NUL-terminated message into err[0..err_len).  A failed method leaves the
 * context unchanged, except train_batch (below).  Methods marked optional may
 * be NULL.
 */
#ifndef ANBN_BACKEND_H
#define ANBN_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "anbn/anbn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ANBN_BACKEND_ABI_VERSION 1u
#define ANBN_BACKEND_ENTRY_SYMBOL "anbn_backend_entry"

typedef struct anbn_backend_ctx anbn_backend_ctx; /* a backend's own model */

/* What to build.  G = 1 (rnn_tanh), 4 (lstm, peephole), 3 (gru).  A backend
 * refuses a cell it does not know (ANBN_ERR_INVALID_ARGUMENT from create);
 * a plugin older than a cell gets a parameter count it does not match, which
 * the core reports the same way. */
typedef struct anbn_backend_desc {
  uint32_t struct_size;
  int32_t cell;      /* anbn_cell */
  int32_t layers;
  int32_t hidden;    /* H */
  int32_t embed;     /* E */
  int32_t vocab;     /* V */
  int32_t output;    /* O */
  int32_t threads;
} anbn_backend_desc;

typedef struct anbn_adam_hparams {
  float lr, beta1, beta2, eps;
  float clip_norm; /* > 0: scale the gradient by min(1, clip_norm / (||g||_2 + 1e-6)) first */
} anbn_adam_hparams;

/* Optional outputs of forward; each NULL when not wanted.  Shapes use the
 * forward call's B and T. */
typedef struct anbn_forward_out {
  float *log_probs; /* (B, T, O) */
  float *hidden;    /* (B, T, layers, H) */
  float *cell;      /* (B, T, layers, H), LSTM and peephole only */
  float *gates;     /* (B, T, layers, G*H) gate activations (all but rnn_tanh) */
} anbn_forward_out;

typedef struct anbn_backend_iface {
  uint32_t abi_version; /* ANBN_BACKEND_ABI_VERSION; never moves */
  uint32_t struct_size; /* sizeof(anbn_backend_iface); never moves */
  const char *name;     /* "onednn", "torch-cpu", ... */

  /* optional: 1 if usable here, else 0 with a reason (e.g. no CUDA device). */
  int (*available)(char *reason, size_t reason_len);

  anbn_status (*create)(const anbn_backend_desc *desc, anbn_backend_ctx **out, char *err,
                        size_t err_len);
  void (*destroy)(anbn_backend_ctx *ctx); /* accepts NULL */

  /* Flat parameters, n floats (n must be the exact total). */
  anbn_status (*get_params)(anbn_backend_ctx *ctx, float *out, size_t n, char *err, size_t err_len);
  anbn_status (*set_params)(anbn_backend_ctx *ctx, const float *in, size_t n, char *err,
                            size_t err_len);
  /* Adam state and step count. */
  anbn_status (*get_adam)(anbn_backend_ctx *ctx, float *exp_avg, float *exp_avg_sq, size_t n,
                          int64_t *step, char *err, size_t err_len);
  anbn_status (*set_adam)(anbn_backend_ctx *ctx, const float *exp_avg, const float *exp_avg_sq,
                          size_t n, int64_t step, char *err, size_t err_len);

  /* One batch of B sequences of one length: inputs and targets (B, T) row
   * major, T = len-1.  Loss = mean over b of (sum_t -logp[y]) / divisor
   * (divisor = len, the seed's normalisation).  Forward, backward, one Adam
   * step; *loss receives the loss.  A non-finite loss, gradient or update
   * returns ANBN_ERR_NUMERIC; the context may then have changed: the core
   * restores the snapshot it took when the epoch began (one rollback, so no
   * backend needs to copy its state every step). */
  anbn_status (*train_batch)(anbn_backend_ctx *ctx, const int32_t *inputs, const int32_t *targets,
                             int32_t B, int32_t T, int32_t divisor, const anbn_adam_hparams *hp,
                             double *loss, char *err, size_t err_len);

  /* Forward from optional initial states h0, c0 (layers, B, H) (NULL = 0). */
  anbn_status (*forward)(anbn_backend_ctx *ctx, const int32_t *inputs, int32_t B, int32_t T,
                         const float *h0, const float *c0, const anbn_forward_out *out, char *err,
                         size_t err_len);

  /* optional: loss and flat gradient (n floats) of one batch, no update. */
  anbn_status (*gradients)(anbn_backend_ctx *ctx, const int32_t *inputs, const int32_t *targets,
                           int32_t B, int32_t T, int32_t divisor, float *grad, size_t n,
                           double *loss, char *err, size_t err_len);

  /* ---- appended in 0.3: absent (NULL) in a table whose struct_size ends
   * before them ---- */

  /* optional, all four or none: a population of `members` models of one
   * desc trained in lockstep (ref: one SIMD lane per member).  pop_create's
   * context is taken by the pop_* methods and destroy only.  Members are
   * loaded and read whole (n floats each, as get/set_params). */
  anbn_status (*pop_create)(const anbn_backend_desc *desc, int32_t members, anbn_backend_ctx **out,
                            char *err, size_t err_len);
  anbn_status (*pop_set_member)(anbn_backend_ctx *ctx, int32_t i, const float *params,
                                const float *exp_avg, const float *exp_avg_sq, size_t n,
                                int64_t step, char *err, size_t err_len);
  anbn_status (*pop_get_member)(anbn_backend_ctx *ctx, int32_t i, float *params, float *exp_avg,
                                float *exp_avg_sq, size_t n, int64_t *step, char *err,
                                size_t err_len);
  /* One Adam step for every member i with T[i] > 0, on its own sequence:
   * inputs and targets (members, Tmax) row major, positions past T[i] padded
   * with any valid token; member i's loss = sum_t -logp[y] / divisor[i] in
   * loss[i].  status[i]: ANBN_OK, or ANBN_ERR_NUMERIC and member i unchanged
   * (a non-finite loss, gradient or update) while the others go on.  Each
   * member ends as train_batch with B = 1 leaves that model alone. */
  anbn_status (*pop_train_step)(anbn_backend_ctx *ctx, const int32_t *inputs,
                                const int32_t *targets, int32_t Tmax, const int32_t *T,
                                const int32_t *divisor, const anbn_adam_hparams *hp, double *loss,
                                anbn_status *status, char *err, size_t err_len);

  /* optional (with the four above): forward, as `forward`, with lane b
   * computed by member members[b] (members may repeat: several sequences of
   * one member): inputs (count, T), h0, c0 (layers, count, H), out's arrays
   * as forward's with B = count.  Each lane's outputs are those of its
   * member's model alone (ref: bit for bit).  The population's capacity
   * scans, evaluation and generation use it. */
  anbn_status (*pop_forward)(anbn_backend_ctx *ctx, const int32_t *members, int32_t count,
                             const int32_t *inputs, int32_t T, const float *h0, const float *c0,
                             const anbn_forward_out *out, char *err, size_t err_len);
} anbn_backend_iface;

typedef const anbn_backend_iface *(*anbn_backend_entry_fn)(uint32_t index);

#ifdef __cplusplus
static_assert(offsetof(anbn_backend_iface, abi_version) == 0, "abi_version must come first");
static_assert(offsetof(anbn_backend_iface, struct_size) == 4, "struct_size must come second");
#endif

#ifdef __cplusplus
}
#endif

#endif /* ANBN_BACKEND_H */
