// Everything written once on top of a backend's forward: evaluation,
// stepping, probing, capacity, generation.
#include <cmath>
#include <map>
#include <memory>

#include "model.hpp"
#include "score.hpp"
#include "versioned.hpp"

struct anbn_state {
  anbn::Shape shape;
  std::vector<float> h, c;  // (layers, H)
  mutable anbn::InUse use;  // a state, like a model, is used by one call at a time
};

namespace anbn {
namespace {


void forward(anbn_model *m, const int32_t *x, int32_t B, int32_t T, const float *h0, const float *c0,
             const anbn_forward_out &out) {
  ANBN_BE(m, forward, x, B, T, h0, c0, &out);
}

bool same_shape(const Shape &a, const Shape &b) {
  return a.cell == b.cell && a.layers == b.layers && a.hidden == b.hidden && a.vocab == b.vocab &&
         a.output == b.output;
}

// Both versions of anbn_capacity take the same arguments but for the row type.
void check_capacity_args(const anbn_model *m, int32_t max_n, const anbn_capacity_result *result, const void *rows,
                         size_t rows_count) {
  ANBN_CHECK_ARG(m && result, "model or result is NULL");
  ANBN_CHECK_ARG(max_n >= 1 && max_n <= 1000000, "max_n must be in 1..1e6, got %d", max_n);
  ANBN_CHECK_ARG(!rows || rows_count >= size_t(max_n), "rows holds %zu, need max_n = %d", rows_count, max_n);
}

}  // namespace
}  // namespace anbn

using namespace anbn;

extern "C" {

anbn_status anbn_evaluate(anbn_model *m, const anbn_corpus *corpus, anbn_eval_stats *stats) {
  return guard([&] {
    ANBN_CHECK_ARG(m && corpus && stats, "model, corpus or stats is NULL");
    ModelLock lock(m);
    ANBN_CHECK_ARG(corpus->alphabet == m->alphabet, "corpus alphabet %d does not match the model's %d",
                   corpus->alphabet, m->alphabet);
    anbn_eval_stats st{};
    st.struct_size = sizeof st;
    const int O = m->shape.output;
    std::map<size_t, std::vector<size_t>> by_len;  // one forward per length bucket
    for (size_t i = 0; i < corpus->size(); ++i) by_len[corpus->len(i)].push_back(i);
    std::vector<int32_t> x;
    std::vector<float> logp;
    double loss_sum = 0;
    for (const auto &kv : by_len) {
      const size_t L = kv.first, T = L - 1;
      for (size_t start = 0; start < kv.second.size(); start += 256) {
        const size_t B = std::min<size_t>(256, kv.second.size() - start);
        x.resize(B * T), logp.resize(B * T * O);
        for (size_t b = 0; b < B; ++b) std::copy(corpus->seq(kv.second[start + b]), corpus->seq(kv.second[start + b]) + T, x.begin() + b * T);
        anbn_forward_out out{logp.data(), nullptr, nullptr, nullptr};
        forward(m, x.data(), int32_t(B), int32_t(T), nullptr, nullptr, out);
        for (size_t b = 0; b < B; ++b) {
          const SeqScore s = score(corpus->seq(kv.second[start + b]), L, logp.data() + b * T * O, O);
          loss_sum += s.loss;
          st.positions += T;
          st.errors += size_t(s.errors);
          st.deterministic_positions += size_t(s.det_positions);
          st.deterministic_errors += size_t(s.det_errors);
          st.correct_sequences += s.det_errors == 0;
        }
      }
    }
    st.sequences = corpus->size();
    st.mean_loss = st.sequences ? loss_sum / double(st.sequences) : 0.0;
    write_out(stats, st, "stats");
    return ANBN_OK;
  });
}

anbn_status anbn_state_create(const anbn_model *m, anbn_state **out) {
  return guard([&] {
    ANBN_CHECK_ARG(m && out, "model or out is NULL");
    ModelLock lock(m);
    auto s = std::make_unique<anbn_state>();
    s->shape = m->shape;
    const size_t n = size_t(m->shape.layers) * size_t(m->shape.hidden);
    s->h.assign(n, 0.f), s->c.assign(n, 0.f);
    *out = s.release();
    return ANBN_OK;
  });
}

anbn_status anbn_state_reset(anbn_state *s) {
  return guard([&] {
    HandleLock<anbn_state> hold(s, "state");
    std::fill(s->h.begin(), s->h.end(), 0.f);
    std::fill(s->c.begin(), s->c.end(), 0.f);
    return ANBN_OK;
  });
}

anbn_status anbn_state_get(const anbn_state *s, float *hidden, size_t hidden_count, float *cell, size_t cell_count) {
  return guard([&] {
    HandleLock<anbn_state> hold(s, "state");
    ANBN_CHECK_ARG(!hidden || hidden_count >= s->h.size(), "hidden holds %zu floats, need %zu", hidden_count, s->h.size());
    ANBN_CHECK_ARG(!cell || cell_count >= s->c.size(), "cell holds %zu floats, need %zu", cell_count, s->c.size());
    if (hidden) std::copy(s->h.begin(), s->h.end(), hidden);
    if (cell) std::copy(s->c.begin(), s->c.end(), cell);
    return ANBN_OK;
  });
}

void anbn_state_destroy(anbn_state *s) { destroy_handle(s); }

anbn_status anbn_step(anbn_model *m, anbn_state *s, int32_t token, float *log_probs) {
  return guard([&] {
    ANBN_CHECK_ARG(m && s, "model or state is NULL");
    ModelLock lock(m);
    HandleLock<anbn_state> hold(s, "state");
    ANBN_CHECK_ARG(same_shape(s->shape, m->shape), "the state was made for a model of another shape");
    check_tokens(m, &token, 1);
    std::vector<float> lp(size_t(m->shape.output)), h(s->h.size()), c(s->c.size());
    const bool lstm = m->shape.def().cell_state;  // has c
    anbn_forward_out out{lp.data(), h.data(), lstm ? c.data() : nullptr, nullptr};
    forward(m, &token, 1, 1, s->h.data(), lstm ? s->c.data() : nullptr, out);
    s->h.swap(h);
    if (lstm) s->c.swap(c);
    if (log_probs) std::copy(lp.begin(), lp.end(), log_probs);
    return ANBN_OK;
  });
}

static anbn_probe_buffers probe_defaults() {
  anbn_probe_buffers b{};
  b.struct_size = sizeof b;
  return b;
}
void(anbn_probe_buffers_init)(anbn_probe_buffers *b) { init_sized(b, probe_defaults(), Size02<anbn_probe_buffers>::value); }
void anbn_probe_buffers_init_v2(anbn_probe_buffers *b, size_t size) { init_sized(b, probe_defaults(), size); }

anbn_status anbn_probe(anbn_model *m, const int32_t *tokens, size_t len, const anbn_probe_buffers *buffers) {
  return guard([&] {
    ANBN_CHECK_ARG(m && buffers, "model or buffers is NULL");
    const anbn_probe_buffers in = read_in(buffers, probe_defaults(), "buffers");
    const anbn_probe_buffers *b = &in;
    ModelLock lock(m);
    check_tokens(m, tokens, len);
    const size_t LH = size_t(m->shape.layers) * size_t(m->shape.hidden);
    const size_t need_lp = len * size_t(m->shape.output), need_h = len * LH,
                 need_g = len * LH * size_t(m->shape.gates());
    ANBN_CHECK_ARG(!b->log_probs || b->log_probs_count >= need_lp, "log_probs holds %zu floats, need %zu", b->log_probs_count, need_lp);
    ANBN_CHECK_ARG(!b->hidden || b->hidden_count >= need_h, "hidden holds %zu floats, need %zu", b->hidden_count, need_h);
    ANBN_CHECK_ARG(!b->cell || m->shape.def().cell_state, "a %s has no cell state", anbn_cell_name(m->shape.cell));
    ANBN_CHECK_ARG(!b->cell || b->cell_count >= need_h, "cell holds %zu floats, need %zu", b->cell_count, need_h);
    ANBN_CHECK_ARG(!b->gates || m->shape.gates() > 1, "a rnn_tanh has no gates");
    ANBN_CHECK_ARG(!b->gates || b->gates_count >= need_g, "gates holds %zu floats, need %zu", b->gates_count, need_g);
    ANBN_CHECK_ARG(!b->argmax || b->argmax_count >= len, "argmax holds %zu ints, need %zu", b->argmax_count, len);
    ANBN_CHECK_ARG(!b->deterministic || b->deterministic_count >= len, "deterministic holds %zu ints, need %zu",
                   b->deterministic_count, len);
    std::vector<float> own_lp(b->argmax && !b->log_probs ? need_lp : 0);  // argmax needs the log-probs
    float *lp = b->log_probs ? b->log_probs : own_lp.data();
    anbn_forward_out out{b->log_probs || b->argmax ? lp : nullptr, b->hidden, b->cell, b->gates};
    forward(m, tokens, 1, int32_t(len), nullptr, nullptr, out);
    const int O = m->shape.output;
    const size_t f = first_letter_change(tokens, len);  // inputs 1..f-1 leave the next symbol open
    for (size_t t = 0; t < len; ++t) {
      if (b->argmax) b->argmax[t] = argmax(lp + t * size_t(O), O);
      if (b->deterministic) b->deterministic[t] = t == 0 || t >= f;
    }
    return ANBN_OK;
  });
}

anbn_status anbn_capacity_v2(anbn_model *m, int32_t max_n, anbn_capacity_result *result, anbn_capacity_row_v2 *rows,
                             size_t rows_count) {
  return guard([&] {
    check_capacity_args(m, max_n, result, rows, rows_count);
    ModelLock lock(m);
    const int O = m->shape.output;
    const bool lstm = m->shape.def().cell_state;  // has c
    anbn_capacity_result r{};
    r.struct_size = sizeof r;
    r.max_n = max_n;
    // Every sequence begins START 0^n: run START 0^max_n once and keep the
    // log-probs and the state after each prefix; each n then only runs its rest.
    const size_t LH = size_t(m->shape.layers) * size_t(m->shape.hidden);
    std::vector<int32_t> prefix(size_t(max_n) + 1, 0);
    prefix[0] = m->alphabet + 1;
    std::vector<float> pre_lp(prefix.size() * O), pre_h(prefix.size() * LH), pre_c(lstm ? prefix.size() * LH : 0);
    forward(m, prefix.data(), 1, int32_t(prefix.size()), nullptr, nullptr,
            anbn_forward_out{pre_lp.data(), pre_h.data(), lstm ? pre_c.data() : nullptr, nullptr});
    // The rest of each sequence runs in batches of consecutive n (one backend
    // call each, padded to the chunk's longest), from the states after 0^n.
    constexpr int32_t kChunk = 64;
    std::vector<float> logp, batch_lp, h0, c0;
    std::vector<int32_t> x;
    for (int32_t first = 1; first <= max_n && !(r.first_failure && !rows); first += kChunk) {
      const int32_t last = std::min(max_n, first + kChunk - 1), B = last - first + 1;
      std::vector<std::vector<int32_t>> seqs;
      size_t T = 0;
      for (int32_t n = first; n <= last; ++n) {
        seqs.push_back(language_sequence(m->cfg.language, n));
        T = std::max(T, seqs.back().size() - 1 - (size_t(n) + 1));
      }
      x.assign(size_t(B) * T, 0), h0.resize(size_t(m->shape.layers) * B * m->shape.hidden), c0.resize(h0.size());
      for (int32_t b = 0; b < B; ++b) {
        const auto &sq = seqs[size_t(b)];
        const size_t shared = size_t(first + b) + 1, rest = sq.size() - 1 - shared;  // inputs START 0^n are shared
        for (size_t t = 0; t < T; ++t) x[size_t(b) * T + t] = sq[shared + std::min(t, rest - 1)];  // pad: repeat
        for (int32_t l = 0; l < m->shape.layers; ++l)
          for (int32_t j = 0; j < m->shape.hidden; ++j) {
            const size_t src = (shared - 1) * LH + size_t(l) * m->shape.hidden + j;
            const size_t dst = (size_t(l) * B + b) * m->shape.hidden + j;
            h0[dst] = pre_h[src];
            c0[dst] = lstm ? pre_c[src] : 0.f;
          }
      }
      batch_lp.resize(size_t(B) * T * O);
      forward(m, x.data(), B, int32_t(T), h0.data(), lstm ? c0.data() : nullptr,
              anbn_forward_out{batch_lp.data(), nullptr, nullptr, nullptr});
      for (int32_t b = 0; b < B; ++b) {
        const int32_t n = first + b;
        const auto &sq = seqs[size_t(b)];
        const size_t Tn = sq.size() - 1, shared = size_t(n) + 1;
        logp.resize(Tn * O);
        std::copy(pre_lp.begin(), pre_lp.begin() + shared * O, logp.begin());
        std::copy(batch_lp.begin() + size_t(b) * T * O, batch_lp.begin() + (size_t(b) * T + (Tn - shared)) * O,
                  logp.begin() + shared * O);
        const SeqScore sc = score(sq.data(), sq.size(), logp.data(), O);
        if (rows) rows[n - 1] = anbn_capacity_row_v2{n, sc.errors, sc.det_errors, int32_t(Tn), float(sc.min_prob)};
        if (sc.det_errors && !r.first_failure) r.first_failure = n;
      }
    }
    r.capacity = r.first_failure ? r.first_failure - 1 : max_n;
    write_out(result, r, "result");
    return ANBN_OK;
  });
}

// The first version's rows, without min_prob.
anbn_status anbn_capacity(anbn_model *m, int32_t max_n, anbn_capacity_result *result, anbn_capacity_row *rows,
                          size_t rows_count) {
  return guard([&] {
    check_capacity_args(m, max_n, result, rows, rows_count);  // before allocating max_n rows
    std::vector<anbn_capacity_row_v2> v2(rows ? size_t(max_n) : 0);
    const anbn_status st = anbn_capacity_v2(m, max_n, result, rows ? v2.data() : nullptr, v2.size());
    if (st == ANBN_OK)
      for (size_t i = 0; i < v2.size(); ++i)
        rows[i] = anbn_capacity_row{v2[i].n, v2[i].errors, v2[i].deterministic_errors, v2[i].positions};
    return st;
  });
}

anbn_status anbn_capacity_at(anbn_model *m, const int32_t *ns, size_t count, anbn_capacity_row_v2 *rows) {
  return guard([&] {
    ANBN_CHECK_ARG(m && ns && rows, "model, ns or rows is NULL");
    double work = 0;
    for (size_t i = 0; i < count; ++i) {
      ANBN_CHECK_ARG(ns[i] >= 1 && ns[i] <= 1000000, "ns[%zu] = %d is not in 1..1e6", i, ns[i]);
      work += double(language_length(m->cfg.language, ns[i]));
    }
    ANBN_CHECK_ARG(work <= kMaxWorkTokens, "the spot checks add up to %.0f steps, more than the %.0f one call may take",
                   work, kMaxWorkTokens);
    ModelLock lock(m);
    const int O = m->shape.output;
    std::vector<float> logp;
    std::vector<anbn_capacity_row_v2> out(count);  // nothing is written unless every n ran
    for (size_t i = 0; i < count; ++i) {
      const auto sq = language_sequence(m->cfg.language, ns[i]);
      const size_t T = sq.size() - 1;
      logp.resize(T * O);
      forward(m, sq.data(), 1, int32_t(T), nullptr, nullptr, anbn_forward_out{logp.data(), nullptr, nullptr, nullptr});
      const SeqScore sc = score(sq.data(), sq.size(), logp.data(), O);
      out[i] = anbn_capacity_row_v2{ns[i], sc.errors, sc.det_errors, int32_t(T), float(sc.min_prob)};
    }
    std::copy(out.begin(), out.end(), rows);
    return ANBN_OK;
  });
}

}  // extern "C"
