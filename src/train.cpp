// The epoch loop: order (shuffle, bucketing), progress, cancel, rollback.
// It lives in the core so every backend sees the same batches in the same order.
#include <chrono>
#include <cmath>
#include <map>

#include "model.hpp"
#include "versioned.hpp"

namespace anbn {

// Batches as lists of corpus indices, per anbn_train_epoch's documented rule.
std::vector<std::vector<size_t>> make_batches(const anbn_corpus &c, const std::vector<size_t> &order, size_t B) {
  std::vector<std::vector<size_t>> batches;
  if (B == 1) {
    batches.reserve(order.size());
    for (size_t i : order) batches.push_back({i});
    return batches;
  }
  std::map<size_t, std::vector<size_t>> open;  // length -> open batch
  for (size_t i : order) {
    auto &b = open[c.len(i)];
    b.push_back(i);
    if (b.size() == B) batches.push_back(std::move(b)), b.clear();
  }
  for (auto &kv : open)  // leftovers by increasing length
    if (!kv.second.empty()) batches.push_back(std::move(kv.second));
  return batches;
}

std::vector<size_t> epoch_order(anbn_model *m, const anbn_corpus &corpus) {
  std::vector<size_t> order(corpus.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (m->cfg.shuffle) shuffle_indices(order, m->rng);
  return order;
}

void check_corpus_for(const anbn_model *m, const anbn_corpus *corpus) {
  ANBN_CHECK_ARG(corpus, "corpus is NULL");
  ANBN_CHECK_ARG(corpus->alphabet == m->alphabet, "corpus alphabet %d does not match the model's %d",
                 corpus->alphabet, m->alphabet);
}

// One epoch of a model its caller holds: everything or nothing changes.
void train_epoch_held(anbn_model *m, const anbn_corpus *corpus, anbn_progress_fn progress, void *user,
                      anbn_epoch_stats *stats) {
    check_corpus_for(m, corpus);
    const auto t0 = std::chrono::steady_clock::now();
    const Snapshot snap = take_snapshot(m);
    try {
      const std::vector<size_t> order = epoch_order(m, *corpus);
      const auto batches = make_batches(*corpus, order, size_t(m->cfg.batch_size));
      const anbn_adam_hparams hp{m->cfg.lr, m->cfg.beta1, m->cfg.beta2, m->cfg.eps, m->cfg.clip_norm};
      std::vector<int32_t> x, y;
      double loss_sum = 0.0;
      size_t done = 0, next_report = 0;
      const size_t every = size_t(m->cfg.progress_every);
      for (const auto &batch : batches) {
        const size_t L = corpus->len(batch[0]), T = L - 1;
        x.resize(batch.size() * T), y.resize(batch.size() * T);
        for (size_t b = 0; b < batch.size(); ++b) {
          const int32_t *s = corpus->seq(batch[b]);
          std::copy(s, s + T, x.begin() + b * T);
          std::copy(s + 1, s + L, y.begin() + b * T);
        }
        double loss = 0.0;
        ANBN_BE(m, train_batch, x.data(), y.data(), int32_t(batch.size()), int32_t(T), int32_t(L), &hp, &loss);
        ++m->adam_step;
        loss_sum += loss * double(batch.size());
        done += batch.size();
        if (progress && (done > next_report || done == order.size())) {
          while (next_report < done) next_report += every;
          anbn_progress pr{m->epoch, done, order.size(), loss_sum / double(done)};
          if (progress(user, &pr)) raise(ANBN_ERR_CANCELLED, "cancelled by the progress callback after %zu of %zu sequences", done, order.size());
        }
      }
      if (stats) {
        anbn_epoch_stats st{};
        st.epoch = m->epoch;
        st.mean_loss = order.empty() ? 0.0 : loss_sum / double(order.size());
        st.sequences = order.size();
        st.batches = batches.size();
        st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        write_out(stats, st, "stats");
      }
      ++m->epoch;
    } catch (...) {
      restore_snapshot(m, snap);
      throw;
    }
}

}  // namespace anbn

using namespace anbn;

extern "C" {

anbn_status anbn_train_epoch(anbn_model *m, const anbn_corpus *corpus, anbn_progress_fn progress, void *user,
                             anbn_epoch_stats *stats) {
  return guard([&] {
    ANBN_CHECK_ARG(m && corpus, "model or corpus is NULL");
    ModelLock lock(m);
    train_epoch_held(m, corpus, progress, user, stats);
    return ANBN_OK;
  });
}

anbn_status anbn_gradients(anbn_model *m, const int32_t *tokens, size_t len, float *grad, size_t count, double *loss) {
  return guard([&] {
    ANBN_CHECK_ARG(m && loss, "model or loss is NULL");
    ModelLock lock(m);
    check_tokens(m, tokens, len);
    ANBN_CHECK_ARG(len >= 2, "a sequence needs at least 2 tokens, got %zu", len);
    check_targets(m, tokens + 1, len - 1);
    ANBN_CHECK_ARG(!grad || count >= m->num_params, "grad holds %zu floats, the model has %zu", count, m->num_params);
    ANBN_CHECK_ARG(m->be->gradients, "backend '%s' does not provide gradients", m->backend.c_str());
    std::vector<float> g(m->num_params);
    const int32_t T = int32_t(len - 1);
    ANBN_BE(m, gradients, tokens, tokens + 1, 1, T, int32_t(len), g.data(), g.size(), loss);
    if (grad) std::copy(g.begin(), g.end(), grad);
    return ANBN_OK;
  });
}

}  // extern "C"
