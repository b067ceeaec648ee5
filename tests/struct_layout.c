/* Prints every public struct's size and field offsets as JSON, for the test
 * that checks the Python binding's ctypes structures against the C ones. */
#include <stddef.h>
#include <stdio.h>

#include "anbn/anbn.h"

static int first_struct = 1, first_field;

#define BEGIN(T)                                                              \
  printf("%s\"%s\": {\"size\": %zu, \"fields\": {", first_struct ? "" : ", ", #T, sizeof(T)); \
  first_struct = 0, first_field = 1
#define F(T, f) printf("%s\"%s\": %zu", first_field ? "" : ", ", #f, offsetof(T, f)), first_field = 0
#define END() printf("}}")

int main(void) {
  printf("{");
  BEGIN(anbn_backend_info); F(anbn_backend_info, name); F(anbn_backend_info, available); F(anbn_backend_info, reason);
  F(anbn_backend_info, path); END();
  BEGIN(anbn_corpus_config); F(anbn_corpus_config, struct_size); F(anbn_corpus_config, language);
  F(anbn_corpus_config, seed); F(anbn_corpus_config, count); F(anbn_corpus_config, min_n); F(anbn_corpus_config, max_n);
  F(anbn_corpus_config, weights); F(anbn_corpus_config, num_weights); F(anbn_corpus_config, extra_n);
  F(anbn_corpus_config, num_extra); F(anbn_corpus_config, shuffle); END();
  BEGIN(anbn_config); F(anbn_config, struct_size); F(anbn_config, backend); F(anbn_config, cell); F(anbn_config, language);
  F(anbn_config, hidden); F(anbn_config, embed); F(anbn_config, layers); F(anbn_config, seed); F(anbn_config, lr);
  F(anbn_config, beta1); F(anbn_config, beta2); F(anbn_config, eps); F(anbn_config, batch_size); F(anbn_config, shuffle);
  F(anbn_config, threads); F(anbn_config, progress_every); F(anbn_config, clip_norm); END();
  BEGIN(anbn_model_info); F(anbn_model_info, struct_size); F(anbn_model_info, cell); F(anbn_model_info, language);
  F(anbn_model_info, alphabet); F(anbn_model_info, vocab_size); F(anbn_model_info, output_size); F(anbn_model_info, hidden);
  F(anbn_model_info, embed); F(anbn_model_info, layers); F(anbn_model_info, gates); F(anbn_model_info, num_params);
  F(anbn_model_info, epoch); F(anbn_model_info, adam_step); F(anbn_model_info, backend);
  F(anbn_model_info, backend_reason); F(anbn_model_info, has_cell_state); END();
  BEGIN(anbn_progress); F(anbn_progress, epoch); F(anbn_progress, done); F(anbn_progress, total);
  F(anbn_progress, mean_loss); END();
  BEGIN(anbn_epoch_stats); F(anbn_epoch_stats, struct_size); F(anbn_epoch_stats, epoch); F(anbn_epoch_stats, mean_loss);
  F(anbn_epoch_stats, sequences); F(anbn_epoch_stats, batches); F(anbn_epoch_stats, seconds); END();
  BEGIN(anbn_eval_stats); F(anbn_eval_stats, struct_size); F(anbn_eval_stats, mean_loss); F(anbn_eval_stats, sequences);
  F(anbn_eval_stats, positions); F(anbn_eval_stats, errors); F(anbn_eval_stats, deterministic_positions);
  F(anbn_eval_stats, deterministic_errors); F(anbn_eval_stats, correct_sequences); END();
  BEGIN(anbn_probe_buffers); F(anbn_probe_buffers, struct_size); F(anbn_probe_buffers, log_probs);
  F(anbn_probe_buffers, log_probs_count); F(anbn_probe_buffers, hidden); F(anbn_probe_buffers, hidden_count);
  F(anbn_probe_buffers, cell); F(anbn_probe_buffers, cell_count); F(anbn_probe_buffers, gates);
  F(anbn_probe_buffers, gates_count); F(anbn_probe_buffers, argmax); F(anbn_probe_buffers, argmax_count);
  F(anbn_probe_buffers, deterministic); F(anbn_probe_buffers, deterministic_count); END();
  BEGIN(anbn_capacity_row); F(anbn_capacity_row, n); F(anbn_capacity_row, errors);
  F(anbn_capacity_row, deterministic_errors); F(anbn_capacity_row, positions); END();
  BEGIN(anbn_capacity_row_v2); F(anbn_capacity_row_v2, n); F(anbn_capacity_row_v2, errors);
  F(anbn_capacity_row_v2, deterministic_errors); F(anbn_capacity_row_v2, positions); F(anbn_capacity_row_v2, min_prob);
  END();
  BEGIN(anbn_capacity_result); F(anbn_capacity_result, struct_size); F(anbn_capacity_result, capacity);
  F(anbn_capacity_result, first_failure); F(anbn_capacity_result, max_n); END();
  BEGIN(anbn_generate_config); F(anbn_generate_config, struct_size); F(anbn_generate_config, count);
  F(anbn_generate_config, temperature); F(anbn_generate_config, seed); F(anbn_generate_config, max_len); END();
  printf("}\n");
  return 0;
}
