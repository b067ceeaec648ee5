/* anbn — train, run and look inside small recurrent networks on counter
 * languages such as 0^n 1^n.  The public C API (C99, usable through any FFI).
 *
 * Conventions
 *  - Every fallible call returns an anbn_status; ANBN_OK is 0.  On failure,
 *    anbn_last_error() gives a message for the calling thread, and the objects
 *    passed in are unchanged (a failed training call rolls the model back).
 *  - Out-parameters come last.  Objects returned through `T **out` belong to
 *    the caller and are freed with the matching *_destroy(), which accepts NULL.
 *  - Structs that cross the API begin with `struct_size`: the size of the
 *    struct as the caller was compiled, any release's (0.1 on).  The library
 *    reads and writes only that many bytes; fields the caller's release did not
 *    have keep their defaults.  Fill input structs with their *_init() (a macro
 *    that passes sizeof); set an output struct's struct_size = sizeof (a
 *    value below the first release's size, such as 0, means the 0.2 layout).
 *  - No call aborts, exits, prints or lets an exception escape.
 *
 * Threads
 *  - A model (and a state) may be used by one call at a time; a call on one
 *    that is in use elsewhere (another thread, or re-entered from a progress
 *    callback) gets ANBN_ERR_BUSY and changes nothing.  Handing a model from
 *    thread to thread between calls (a thread pool) is fine on every backend.
 *  - Different models on different threads run fully in parallel.  Corpora
 *    are immutable after creation: any number of threads may read one.
 *  - Calls that take no handle (version, names, corpus and language helpers,
 *    backend listing) may be made from any thread at any time.
 *  - Destroying a handle while another thread is inside a call on it is the
 *    caller's error (as in SQLite).  Where it is cheap the library catches it:
 *    the memory is freed when that call returns, and the call itself is not
 *    disturbed; a call made after the destroy is undefined behaviour.
 *  - The library sets no process-wide state: no signal handlers, and a
 *    model's `threads` apply to its own calls on the calling thread (libtorch,
 *    whose pool is process-wide, is set for the call and put back).
 *
 * Tokens: an alphabet of k letters 0..k-1, END = k, START = k+1,
 * vocab_size = k+2, output_size = k+1.  A sequence is [START, body..., END].
 */
#ifndef ANBN_ANBN_H
#define ANBN_ANBN_H

#include <stddef.h>
#include <stdint.h>

#include "anbn/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define ANBN_API __declspec(dllexport)
#else
#define ANBN_API __attribute__((visibility("default")))
#endif

/* ---------------------------------------------------------------- status -- */

/* Append-only: values are never reused or renumbered. */
typedef enum anbn_status {
  ANBN_OK = 0,
  ANBN_ERR_INVALID_ARGUMENT = 1,
  ANBN_ERR_BACKEND_UNAVAILABLE = 2, /* not found, ABI mismatch, no CUDA device */
  ANBN_ERR_BACKEND_FAILURE = 3,
  ANBN_ERR_IO = 4,
  ANBN_ERR_FORMAT = 5,        /* a bad checkpoint or corpus file */
  ANBN_ERR_OUT_OF_MEMORY = 6,
  ANBN_ERR_NUMERIC = 7,       /* non-finite loss; nothing was updated */
  ANBN_ERR_BUSY = 8,          /* the model is in use on another thread */
  ANBN_ERR_CANCELLED = 9,     /* a progress callback asked to stop */
  ANBN_STATUS_MAX_ENUM = 0x7fffffff /* keeps the enum 32-bit; never returned */
} anbn_status;

/* Returns a static, never-NULL name for a status ("ANBN_ERR_IO", ...). */
ANBN_API const char *anbn_status_string(anbn_status status);

/* Returns the message of the last failed call on this thread ("" if none).
 * Valid until the next anbn call on this thread. */
ANBN_API const char *anbn_last_error(void);

/* Returns the library's version string, e.g. "0.1.0". */
ANBN_API const char *anbn_version(void);
/* Returns the library's version as MAJOR*10000 + MINOR*100 + PATCH. */
ANBN_API uint32_t anbn_version_number(void);

/* ------------------------------------------------------------ enums ------ */

typedef enum anbn_cell {
  ANBN_CELL_RNN_TANH = 0, /* h = tanh(W_ih e + b_ih + W_hh h' + b_hh) */
  ANBN_CELL_LSTM = 1,     /* gate rows i, f, g, o */
  ANBN_CELL_GRU = 2,      /* gate rows r, z, n */
  ANBN_CELL_PEEPHOLE = 3, /* LSTM with peepholes (Gers & Schmidhuber): rows i, f, g, o; weight_peephole (3, H) */
  ANBN_CELL_MAX_ENUM = 0x7fffffff
} anbn_cell;

typedef enum anbn_language {
  ANBN_LANG_ANBN = 0,     /* 0^n 1^n, k = 2 */
  ANBN_LANG_ANBNANBN = 1, /* 0^n 1^n 0^n 1^n, k = 2 */
  ANBN_LANG_ANBNCN = 2,   /* 0^n 1^n 2^n, k = 3 */
  ANBN_LANG_MAX_ENUM = 0x7fffffff
} anbn_language;

/* Returns "rnn_tanh", "lstm", "gru", "peephole", or NULL for an unknown value. */
ANBN_API const char *anbn_cell_name(anbn_cell cell);
/* Parses a cell name ("rnn", "rnn_tanh", "lstm", "gru", "peephole").
 * Returns ANBN_ERR_INVALID_ARGUMENT for anything else. */
ANBN_API anbn_status anbn_cell_from_name(const char *name, anbn_cell *out);
/* The cell's gate rows in order, one letter per block of H rows ("ifgo" for
 * lstm and peephole, "rzn" for gru, "h" for rnn_tanh); NULL if unknown. */
ANBN_API const char *anbn_cell_gate_rows(anbn_cell cell);
/* Returns "anbn", "anbnanbn", "anbncn", or NULL for an unknown value. */
ANBN_API const char *anbn_language_name(anbn_language language);
/* Parses a language name.  Returns ANBN_ERR_INVALID_ARGUMENT if unknown. */
ANBN_API anbn_status anbn_language_from_name(const char *name, anbn_language *out);
/* Number of letters k of a language (2 or 3); 0 for an unknown value. */
ANBN_API int32_t anbn_language_alphabet(anbn_language language);

/* Checks whether tokens[0..len) is [START, body, END] with body in the
 * language.  *n_out (may be NULL) receives n, or 0 when not a member.
 * Returns ANBN_OK whether or not it is a member; INVALID_ARGUMENT on NULL. */
ANBN_API anbn_status anbn_language_accepts(anbn_language language, const int32_t *tokens,
                                           size_t len, int32_t *n_out);

/* Writes the sequence [START, body(n), END] for `n` (n >= 0) into out, which
 * holds `capacity` tokens; *len_out receives the length.  Returns
 * INVALID_ARGUMENT if the buffer is too small (*len_out still says how long). */
ANBN_API anbn_status anbn_language_sequence(anbn_language language, int32_t n, int32_t *out,
                                            size_t capacity, size_t *len_out);

/* Whether predicting tokens[t+1] from the prefix tokens[0..t] is fixed by the
 * language (n >= 1): every position except those after START 0^j, j >= 1.
 * *out = 1 deterministic, 0 ambiguous. */
ANBN_API anbn_status anbn_language_deterministic(anbn_language language, const int32_t *tokens,
                                                 size_t len, size_t t, int *out);

/* -------------------------------------------------------------- backends -- */

typedef struct anbn_backend_info {
  const char *name;   /* "ref", "onednn", "torch-cpu", "torch-cuda", ... */
  int available;      /* 1 if anbn_create can use it now */
  const char *reason; /* why not, "" when available */
  const char *path;   /* the plugin library, "" for ref (built in) */
} anbn_backend_info;

/* Number of known backends (built-in, plugins found, and the standard plugin
 * names even when missing).  The first call scans ANBN_BACKEND_PATH (':'-
 * separated directories) and then the directory of libanbn itself and its
 * `anbn/` subdirectory.  Returns INVALID_ARGUMENT on NULL. */
ANBN_API anbn_status anbn_backend_count(size_t *count);
/* Fills *info for backend `index`; its strings live as long as the process.
 * Returns INVALID_ARGUMENT for an index >= count. */
ANBN_API anbn_status anbn_backend_get(size_t index, anbn_backend_info *info);
/* Finds a backend by name (or "auto"); INVALID_ARGUMENT if the name is not
 * known at all (the info of a known but unusable one is returned with OK). */
ANBN_API anbn_status anbn_backend_find(const char *name, anbn_backend_info *info);
/* Scans the plugin directories again (after ANBN_BACKEND_PATH changed). */
ANBN_API anbn_status anbn_backend_rescan(void);

/* anbn_backend_info with a struct_size, so that it can grow (since 0.3). */
typedef struct anbn_backend_info_v2 {
  size_t struct_size;  /* sizeof(anbn_backend_info_v2) as the caller was compiled */
  const char *name;
  int available;
  const char *reason;
  const char *path;
  int32_t population; /* 1 if it trains a population in lockstep (anbn_population_*) */
} anbn_backend_info_v2;

ANBN_API anbn_status anbn_backend_get_v2(size_t index, anbn_backend_info_v2 *info);
ANBN_API anbn_status anbn_backend_find_v2(const char *name, anbn_backend_info_v2 *info);

/* ---------------------------------------------------------------- corpus -- */

typedef struct anbn_corpus anbn_corpus;

typedef struct anbn_corpus_config {
  size_t struct_size;
  anbn_language language; /* ANBN_LANG_ANBN */
  uint64_t seed;          /* 0 */
  size_t count;           /* 2000 sequences drawn */
  int32_t min_n;          /* 1 */
  int32_t max_n;          /* 10 */
  /* Integer weights of n = min_n .. max_n (num_weights = max_n - min_n + 1).
   * NULL: the seed's 10,6,4,3,1,1,... (1 for every n past the fourth). */
  const uint32_t *weights;
  size_t num_weights;
  /* Sequences with these n are appended after the drawn ones (the seed's
   * validation set adds n = 11 and 12).  May be NULL. */
  const int32_t *extra_n;
  size_t num_extra;
  int shuffle; /* 0; 1: shuffle the whole set afterwards (with the same generator) */
} anbn_corpus_config;

/* Fills *config with the defaults above; struct_size is the caller's
 * sizeof (the macro passes it).  The plain call fills a 0.2-sized struct. */
ANBN_API void anbn_corpus_config_init(anbn_corpus_config *config);
ANBN_API void anbn_corpus_config_init_v2(anbn_corpus_config *config, size_t struct_size);
#define anbn_corpus_config_init(config) anbn_corpus_config_init_v2((config), sizeof *(config))

/* Draws a corpus: n by weighted choice (exact integer arithmetic on the
 * documented generator, so bit-for-bit the same on every platform).
 * Returns INVALID_ARGUMENT on bad ranges or weights. */
ANBN_API anbn_status anbn_corpus_generate(const anbn_corpus_config *config, anbn_corpus **out);

/* The seed corpus of `language` from one seed: 2000 training sequences, then
 * (continuing the same generator) 200 validation sequences plus n = 11 and 12,
 * shuffled. */
ANBN_API anbn_status anbn_corpus_seed(anbn_language language, uint64_t seed,
                                      anbn_corpus **train, anbn_corpus **valid);

/* Builds a corpus from `count` sequences stored back to back in `tokens`,
 * lengths[i] tokens each, over an alphabet of `alphabet` letters.  Every
 * sequence must have length >= 2, start with START and hold tokens in
 * 0..alphabet+1 only.  Returns INVALID_ARGUMENT naming the first bad one. */
ANBN_API anbn_status anbn_corpus_from_tokens(int32_t alphabet, const int32_t *tokens,
                                             const size_t *lengths, size_t count,
                                             anbn_corpus **out);

/* Reads a corpus file: one sequence per line, tokens separated by spaces
 * ("3 0 0 1 1 2"); blank lines and lines starting with '#' are skipped.
 * Returns ANBN_ERR_IO if it cannot be read, ANBN_ERR_FORMAT with the line
 * number for a bad line. */
ANBN_API anbn_status anbn_corpus_load(const char *path, int32_t alphabet, anbn_corpus **out);
/* Writes a corpus in the same format (atomically). */
ANBN_API anbn_status anbn_corpus_save(const anbn_corpus *corpus, const char *path);

/* Number of sequences. */
ANBN_API anbn_status anbn_corpus_size(const anbn_corpus *corpus, size_t *count);
/* Alphabet size k. */
ANBN_API anbn_status anbn_corpus_alphabet(const anbn_corpus *corpus, int32_t *alphabet);
/* Copies sequence `index` into out (capacity tokens).  *len_out receives its
 * length even when out is too small (then INVALID_ARGUMENT).  out may be NULL
 * with capacity 0 to ask for the length only. */
ANBN_API anbn_status anbn_corpus_get(const anbn_corpus *corpus, size_t index, int32_t *out,
                                     size_t capacity, size_t *len_out);
ANBN_API void anbn_corpus_destroy(anbn_corpus *corpus);

/* ----------------------------------------------------------------- model -- */

typedef struct anbn_model anbn_model;

typedef struct anbn_config {
  size_t struct_size;
  const char *backend;     /* "auto": the faster of ref and onednn for this shape:
                              onednn when gates*hidden*sqrt(batch_size) >= 64 and it is
                              available, else ref (measured: bench/auto_rule.md) */
  anbn_cell cell;          /* ANBN_CELL_RNN_TANH */
  anbn_language language;  /* ANBN_LANG_ANBN (fixes k, vocab and output size) */
  int32_t hidden;          /* 2 */
  int32_t embed;           /* 0 = same as hidden */
  int32_t layers;          /* 1 */
  uint64_t seed;           /* 1: initial weights and the shuffling order */
  float lr;                /* 1e-3 */
  float beta1, beta2;      /* 0.9, 0.999 */
  float eps;               /* 1e-8 */
  int32_t batch_size;      /* 1: one Adam step per sequence (the seed) */
  int32_t shuffle;         /* 1: shuffle the corpus every epoch */
  int32_t threads;         /* 1: threads a backend may use */
  int32_t progress_every;  /* 500: sequences between progress callbacks */
  float clip_norm;         /* 0 = off; else the gradient's global L2 norm is clipped to it
                              before each Adam step, as torch.nn.utils.clip_grad_norm_ */
} anbn_config;

/* Fills *config with the seed's defaults above (struct_size = the caller's
 * sizeof, passed by the macro; the plain call fills a 0.2-sized struct). */
ANBN_API void anbn_config_init(anbn_config *config);
ANBN_API void anbn_config_init_v2(anbn_config *config, size_t struct_size);
#define anbn_config_init(config) anbn_config_init_v2((config), sizeof *(config))

/* Creates a model on the named backend, initialised as PyTorch would
 * (E ~ N(0,1); every other tensor ~ U(-1/sqrt(H), 1/sqrt(H))) from the core's
 * own generator, in canonical order, so every backend starts from the same
 * bits.  Returns INVALID_ARGUMENT for a bad config, BACKEND_UNAVAILABLE (with
 * the loader's reason) for a backend that cannot be used. */
ANBN_API anbn_status anbn_create(const anbn_config *config, anbn_model **out);
ANBN_API void anbn_destroy(anbn_model *model);

typedef struct anbn_model_info {
  size_t struct_size;
  anbn_cell cell;
  anbn_language language;
  int32_t alphabet, vocab_size, output_size;
  int32_t hidden, embed, layers;
  int32_t gates;           /* G: 1 (rnn_tanh), 4 (lstm, peephole), 3 (gru) */
  size_t num_params;       /* total floats */
  int64_t epoch;           /* epochs trained */
  int64_t adam_step;       /* Adam steps taken */
  const char *backend;     /* valid while the model lives */
  /* since 0.3: why this backend ("asked for", or the `auto` rule's reason) */
  const char *backend_reason;
  /* since 0.3: 1 if the cell has a cell state c (lstm, peephole): probes and
   * states report it */
  int32_t has_cell_state;
} anbn_model_info;

/* Describes the model. */
ANBN_API anbn_status anbn_model_get_info(const anbn_model *model, anbn_model_info *info);
/* Copies the model's config (backend points into the model). */
ANBN_API anbn_status anbn_model_get_config(const anbn_model *model, anbn_config *config);
/* Changes the training settings (lr, betas, eps, batch_size, shuffle,
 * progress_every, clip_norm) from *config; the architecture fields are ignored.
 * Returns INVALID_ARGUMENT (nothing changed) for non-finite or out-of-range
 * values. */
ANBN_API anbn_status anbn_model_set_training(anbn_model *model, const anbn_config *config);

/* --------------------------------------------------------------- training -- */

typedef struct anbn_progress {
  int64_t epoch;          /* the epoch being trained (0-based) */
  size_t done;            /* sequences trained so far in this epoch */
  size_t total;           /* sequences in the epoch */
  double mean_loss;       /* mean loss of the sequences done so far */
} anbn_progress;

/* Return nonzero to cancel: the call then returns ANBN_ERR_CANCELLED and the
 * model is rolled back to where the epoch began. */
typedef int (*anbn_progress_fn)(void *user, const anbn_progress *progress);

typedef struct anbn_epoch_stats {
  size_t struct_size;
  int64_t epoch;          /* index of the epoch just trained */
  double mean_loss;       /* mean of the sequence losses */
  size_t sequences;
  size_t batches;         /* = Adam steps taken */
  double seconds;         /* wall time */
} anbn_epoch_stats;

/* Trains one epoch: shuffle (if enabled) with the model's generator, make
 * batches, one Adam step per batch.  batch_size 1 is the seed's regime.  With
 * batch_size B > 1, batches hold sequences of one length: walking the
 * shuffled order, each sequence joins the open batch of its length, a batch
 * is emitted when it reaches B, and the partial batches left at the end are
 * emitted by increasing length.  progress (may be NULL) is called after the
 * first sequence, every progress_every sequences, and at the end.
 * stats may be NULL.  Returns INVALID_ARGUMENT for a corpus over another
 * alphabet, NUMERIC on a non-finite loss, CANCELLED; on any failure the model
 * is exactly as it was before the call. */
ANBN_API anbn_status anbn_train_epoch(anbn_model *model, const anbn_corpus *corpus,
                                      anbn_progress_fn progress, void *user,
                                      anbn_epoch_stats *stats);

/* Loss of one sequence (sum of -log p over its len-1 predictions, divided by
 * len, as the seed does) and its gradient with respect to every parameter,
 * flat in canonical order (grad holds count >= num_params floats; may be NULL
 * to get the loss only).  Nothing is updated.  Meant for gradient checks. */
ANBN_API anbn_status anbn_gradients(anbn_model *model, const int32_t *tokens, size_t len,
                                    float *grad, size_t count, double *loss);

/* ------------------------------------------------------------- evaluation -- */

typedef struct anbn_eval_stats {
  size_t struct_size;
  double mean_loss;             /* mean over sequences of the seed's loss */
  size_t sequences;
  size_t positions;             /* predicted positions (len-1 per sequence) */
  size_t errors;                /* argmax != target, all positions (the seed's "Diff") */
  size_t deterministic_positions;
  size_t deterministic_errors;  /* errors where the language fixes the symbol */
  size_t correct_sequences;     /* sequences with no deterministic error */
} anbn_eval_stats;

/* Evaluates a corpus without changing the model. */
ANBN_API anbn_status anbn_evaluate(anbn_model *model, const anbn_corpus *corpus,
                                   anbn_eval_stats *stats);

/* ---------------------------------------------------------------- stepping -- */

typedef struct anbn_state anbn_state;

/* Creates a recurrent state (h = c = 0) for a model; it may be used with any
 * model of the same shape. */
ANBN_API anbn_status anbn_state_create(const anbn_model *model, anbn_state **out);
/* Sets h = c = 0. */
ANBN_API anbn_status anbn_state_reset(anbn_state *state);
/* Copies the state's hidden (layers*H floats) and cell (layers*H, zeros for
 * cells without one) values; either pointer may be NULL. */
ANBN_API anbn_status anbn_state_get(const anbn_state *state, float *hidden, size_t hidden_count,
                                    float *cell, size_t cell_count);
ANBN_API void anbn_state_destroy(anbn_state *state);

/* Advances the state by one input token and writes the log-probabilities of
 * the next symbol (output_size floats) to log_probs (may be NULL).
 * Returns INVALID_ARGUMENT for a token outside 0..vocab_size-1 (state
 * unchanged). */
ANBN_API anbn_status anbn_step(anbn_model *model, anbn_state *state, int32_t token,
                               float *log_probs);

/* ----------------------------------------------------------------- probing -- */

/* Where anbn_probe writes; any pointer may be NULL (not wanted), each with
 * the number of floats its buffer holds.  Rows are input steps. */
typedef struct anbn_probe_buffers {
  size_t struct_size;
  float *log_probs; size_t log_probs_count; /* (len, output_size) */
  float *hidden;    size_t hidden_count;    /* (len, layers, H) */
  float *cell;      size_t cell_count;      /* (len, layers, H), cells with a cell state */
  float *gates;     size_t gates_count;     /* (len, layers, G*H), all but rnn_tanh:
                                               activations in anbn_cell_gate_rows order */
  /* since 0.3: per input position t, the most probable next symbol (the first
   * maximum, as torch.max) and 1 if the prefix tokens[0..t] fixes the next
   * symbol (a deterministic position, DESIGN.md §1), else 0: the seed's probe
   * table without a rescan.  Callers of 0.2's size never see them. */
  int32_t *argmax;        size_t argmax_count;        /* (len) */
  int32_t *deterministic; size_t deterministic_count; /* (len) */
} anbn_probe_buffers;

ANBN_API void anbn_probe_buffers_init(anbn_probe_buffers *buffers);
ANBN_API void anbn_probe_buffers_init_v2(anbn_probe_buffers *buffers, size_t struct_size);
#define anbn_probe_buffers_init(buffers) anbn_probe_buffers_init_v2((buffers), sizeof *(buffers))

/* Runs the network from h = c = 0 over tokens[0..len) (every token is an
 * input; to probe a whole sequence pass its first len-1 tokens) and writes
 * per-step log-probs, hidden and cell states and gate activations.
 * Returns INVALID_ARGUMENT for a bad token, a buffer that is too small, or a
 * cell/gates buffer for a cell that has none. */
ANBN_API anbn_status anbn_probe(anbn_model *model, const int32_t *tokens, size_t len,
                                const anbn_probe_buffers *buffers);

/* --------------------------------------------------------------- capacity -- */

typedef struct anbn_capacity_row {
  int32_t n;
  int32_t errors;               /* argmax errors at every position (the seed's Diff) */
  int32_t deterministic_errors;
  int32_t positions;
} anbn_capacity_row;

typedef struct anbn_capacity_result {
  size_t struct_size;
  int32_t capacity;      /* largest N with every n <= N right at all deterministic positions */
  int32_t first_failure; /* smallest failing n, 0 if none up to max_n */
  int32_t max_n;         /* how far it looked */
} anbn_capacity_result;

/* Tests n = 1..max_n of the model's language.  rows (may be NULL) receives
 * one row per n (rows_count >= max_n); without rows the scan stops at the
 * first failure.  The 0^n prefix is run once and shared by every n.  Returns INVALID_ARGUMENT for
 * max_n < 1 or a too-small rows buffer.  Kept for programs built against 0.1;
 * anbn_capacity_v2 adds each n's margin. */
ANBN_API anbn_status anbn_capacity(anbn_model *model, int32_t max_n, anbn_capacity_result *result,
                                   anbn_capacity_row *rows, size_t rows_count);

typedef struct anbn_capacity_row_v2 {
  int32_t n;
  int32_t errors;               /* argmax errors at every position (the seed's Diff) */
  int32_t deterministic_errors;
  int32_t positions;
  float min_prob;               /* the margin: smallest probability given to the right symbol
                                   at a deterministic position (1 if it gave them all 1) */
} anbn_capacity_row_v2;

/* As anbn_capacity, with rows that carry each n's margin (since 0.2). */
ANBN_API anbn_status anbn_capacity_v2(anbn_model *model, int32_t max_n, anbn_capacity_result *result,
                                      anbn_capacity_row_v2 *rows, size_t rows_count);

/* Spot checks far beyond a scan (n = 1e4, 3e4): one forward of each n's whole
 * sequence, its row into rows[i] (count rows).  Returns INVALID_ARGUMENT for
 * an n outside 1..1e6; nothing is written unless every n ran.  (Since 0.2.) */
ANBN_API anbn_status anbn_capacity_at(anbn_model *model, const int32_t *ns, size_t count,
                                      anbn_capacity_row_v2 *rows);

/* -------------------------------------------------------------- diagnosis -- */

/* How the model counts, as a JSON object (since 0.3; `anbn diagnose --json`
 * prints the same).  LSTM/GRU: the unit whose state best tracks #0 - #1 along
 * START 0^n 1^n ("unit"), its per-step change in the 0s and the 1s
 * ("delta_zeros", "delta_ones": mean and std) and the lowest keep/write gate
 * values per phase ("min_forget", "min_input"; GRU "min_update_z").  tanh RNN
 * (n unused): the 0-phase fixed point, its Jacobian, eigenvalues and spectral
 * radius.  Writes NUL-terminated text into json (capacity bytes); *len_out
 * receives its length without the NUL even when it does not fit (then
 * INVALID_ARGUMENT).  json may be NULL with capacity 0 to ask for the length.
 * n in 1..1e5. */
ANBN_API anbn_status anbn_diagnose(anbn_model *model, int32_t n, char *json, size_t capacity, size_t *len_out);

/* --------------------------------------------------------------- generate -- */

typedef struct anbn_generate_config {
  size_t struct_size;
  size_t count;          /* 10 */
  float temperature;     /* 1.0; 0 = greedy (argmax) */
  uint64_t seed;         /* 0 */
  size_t max_len;        /* 200: a sample that has not ended by then is cut */
} anbn_generate_config;

ANBN_API void anbn_generate_config_init(anbn_generate_config *config);
ANBN_API void anbn_generate_config_init_v2(anbn_generate_config *config, size_t struct_size);
#define anbn_generate_config_init(config) anbn_generate_config_init_v2((config), sizeof *(config))

/* Samples sequences from START until END (or max_len tokens).  *out receives
 * them as a corpus (a cut sample has no END); *valid_out (may be NULL) the
 * number that are members of the model's language. */
ANBN_API anbn_status anbn_generate(anbn_model *model, const anbn_generate_config *config,
                                   anbn_corpus **out, size_t *valid_out);

/* ------------------------------------------------------------- parameters -- */

/* Number of parameter tensors (3 + 4*layers). */
ANBN_API anbn_status anbn_param_count(const anbn_model *model, size_t *count);
/* Name (state_dict spelling, valid while the model lives), shape and size of
 * tensor `index` in canonical order.  shape has room for 2; *ndim is 1 or 2. */
ANBN_API anbn_status anbn_param_info(const anbn_model *model, size_t index, const char **name,
                                     int32_t *ndim, int64_t shape[2], size_t *numel);
/* Copies the tensor called `name` (row-major) into out (count >= numel). */
ANBN_API anbn_status anbn_param_get(const anbn_model *model, const char *name, float *out,
                                    size_t count);
/* Replaces the tensor called `name`; count must equal numel and every value
 * be finite.  Optimizer state is kept. */
ANBN_API anbn_status anbn_param_set(anbn_model *model, const char *name, const float *values,
                                    size_t count);

/* ------------------------------------------------------------ checkpoints -- */

/* Saves a safetensors file: tensors under their state_dict names (so a
 * PyTorch model loads them), Adam state as optimizer.<name>.exp_avg /
 * .exp_avg_sq, and the config, step, epoch and generator state in the
 * metadata.  Atomic: written to a temporary file and renamed.
 * Returns ANBN_ERR_IO on failure (the old file, if any, is untouched). */
ANBN_API anbn_status anbn_save(anbn_model *model, const char *path);

/* Loads a checkpoint onto `backend` (NULL or "auto" for the default) so that
 * training resumes exactly.  A file without anbn metadata (a plain PyTorch
 * state_dict) is accepted: the architecture is read off the tensor shapes.
 * Returns ANBN_ERR_IO if unreadable, ANBN_ERR_FORMAT for a truncated,
 * inconsistent or hostile file. */
ANBN_API anbn_status anbn_load(const char *path, const char *backend, anbn_model **out);

/* ------------------------------------------------------------ populations -- */

/* P independent models of one config, each with its own seed, trained
 * together.  Member i is exactly the model anbn_create gives with seed
 * seeds[i] (initial weights, shuffling), and anbn_population_train_epoch
 * leaves it exactly as anbn_train_epoch would: bit for bit on ref, whose
 * population method trains the members in lockstep, one SIMD lane each.  A
 * backend without one (see backend.h) trains the members one after another,
 * with the same result; so does a config with batch_size > 1. */
typedef struct anbn_population anbn_population;

ANBN_API anbn_status anbn_population_create(const anbn_config *config, const uint64_t *seeds, size_t count,
                                            anbn_population **out);
ANBN_API void anbn_population_destroy(anbn_population *population);
ANBN_API anbn_status anbn_population_size(const anbn_population *population, size_t *count);
/* Member i as an ordinary model, owned by the population (valid until it is
 * destroyed; never pass it to anbn_destroy): probe, evaluate, save it, or
 * change its parameters and training settings between epochs. */
ANBN_API anbn_status anbn_population_member(anbn_population *population, size_t i, anbn_model **member);
/* One epoch for every member i with active[i] != 0 (active NULL: all) on its
 * corpus: corpora[i], or corpora[0] for every member when corpora_count is 1.
 * status[i] (may be NULL): ANBN_OK, or ANBN_ERR_NUMERIC for a member whose
 * loss or update went non-finite: that member is left as it was before the
 * epoch while the others go on; stats (may be NULL): an array of P
 * anbn_epoch_stats, each with its struct_size set, filled as anbn_train_epoch
 * fills one (for members trained in lanes, seconds is the epoch's time / P).
 * Returns ANBN_OK even when some member failed.  A bad argument or a member
 * in use elsewhere (ANBN_ERR_BUSY) changes no member. */
ANBN_API anbn_status anbn_population_train_epoch(anbn_population *population, const anbn_corpus *const *corpora,
                                                 size_t corpora_count, const int32_t *active,
                                                 anbn_status *status, anbn_epoch_stats *stats);
/* anbn_capacity_v2 for every member i with active[i] != 0 (active NULL: all)
 * at its current parameters: results is an array of P anbn_capacity_result,
 * each with its struct_size set (written for the active members only); rows
 * (may be NULL) an array of P pointers, rows[i] NULL or max_n rows for
 * member i.  With a backend's population forward (ref) the members run as
 * lanes, each member's numbers bit for bit its own anbn_capacity_v2's;
 * otherwise one after another, the same numbers.  With lanes, a member in
 * use elsewhere makes the call return ANBN_ERR_BUSY before anything is
 * written.  Since 0.3. */
ANBN_API anbn_status anbn_population_capacity(anbn_population *population, int32_t max_n, const int32_t *active,
                                              anbn_capacity_result *results, anbn_capacity_row_v2 *const *rows);
/* anbn_capacity_at for every active member: rows[i] holds count rows for
 * each active member i (the limit on work is per member).  Lanes as above.
 * Since 0.3. */
ANBN_API anbn_status anbn_population_capacity_at(anbn_population *population, const int32_t *ns, size_t count,
                                                 const int32_t *active, anbn_capacity_row_v2 *const *rows);
/* anbn_evaluate for every active member on corpora[i] (or corpora[0] for all
 * when corpora_count is 1): stats is an array of P anbn_eval_stats, each
 * with its struct_size set.  Lanes as above (a lane per member and
 * sequence).  Since 0.3. */
ANBN_API anbn_status anbn_population_evaluate(anbn_population *population, const anbn_corpus *const *corpora,
                                              size_t corpora_count, const int32_t *active, anbn_eval_stats *stats);
/* anbn_generate for every active member: out[i] its corpus (caller destroys;
 * NULL for an inactive member), valid_out[i] (may be NULL) how many are in
 * the language.  Member i's samples are those anbn_generate gives it with
 * this config; the limit on count x max_len is per member.  Lanes as above
 * (a lane per member and sample).  Since 0.3. */
ANBN_API anbn_status anbn_population_generate(anbn_population *population, const anbn_generate_config *config,
                                              const int32_t *active, anbn_corpus **out, size_t *valid_out);

#ifdef __cplusplus
}
#endif

#endif /* ANBN_ANBN_H */
