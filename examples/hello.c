/* The smallest complete use of anbn: train the seed's LSTM for a few epochs,
 * evaluate it, and ask how far it counts.
 *   cc hello.c $(pkg-config --cflags --libs anbn) -o hello */
#include <anbn/anbn.h>
#include <stdio.h>

#define CHECK(call)                                                                   \
  do {                                                                                \
    anbn_status rc_ = (call);                                                         \
    if (rc_ != ANBN_OK) {                                                             \
      fprintf(stderr, "%s: %s: %s\n", #call, anbn_status_string(rc_), anbn_last_error()); \
      return 1;                                                                       \
    }                                                                                 \
  } while (0)

int main(void) {
  printf("anbn %s (headers %s)\n", anbn_version(), ANBN_VERSION_STRING);
  anbn_corpus *train = NULL, *valid = NULL;
  CHECK(anbn_corpus_seed(ANBN_LANG_ANBN, 1, &train, &valid));

  anbn_config cfg;
  anbn_config_init(&cfg); /* the seed's defaults: H = 2, Adam lr 1e-3, batch 1 */
  cfg.cell = ANBN_CELL_LSTM;
  anbn_model *model = NULL;
  CHECK(anbn_create(&cfg, &model));

  for (int epoch = 0; epoch < 3; ++epoch) {
    anbn_epoch_stats st = {.struct_size = sizeof st};
    anbn_eval_stats ev;
    CHECK(anbn_train_epoch(model, train, NULL, NULL, &st));
    CHECK(anbn_evaluate(model, valid, &ev));
    printf("epoch %d: train loss %.3f, valid loss %.3f, %zu errors in %zu positions\n", epoch, st.mean_loss,
           ev.mean_loss, ev.errors, ev.positions);
  }
  anbn_capacity_result cap;
  CHECK(anbn_capacity(model, 100, &cap, NULL, 0));
  printf("capacity %d\n", cap.capacity);

  anbn_destroy(model);
  anbn_corpus_destroy(train);
  anbn_corpus_destroy(valid);
  return 0;
}
