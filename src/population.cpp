// Populations: P models of one config, one seed each, trained together.
// The members are ordinary models (their config, generator, epoch and step
// live in them as always); an epoch with the backend's population method
// loads them into its lanes, steps them in lockstep on their own shuffles and
// writes back those that stayed finite.  Without one (or with batches), each
// member runs anbn_train_epoch's own loop: the same result, one at a time.
#include <algorithm>
#include <chrono>
#include <memory>

#include "population.hpp"
#include "versioned.hpp"

namespace anbn {

void load_lane(anbn_population *pop, size_t b, int32_t lane) {
  anbn_model *mb = pop->members[b];
  const size_t n = mb->num_params;
  std::vector<float> p(n), m(n), v(n);
  int64_t step = 0;
  ANBN_BE(mb, get_params, p.data(), n);
  ANBN_BE(mb, get_adam, m.data(), v.data(), n, &step);
  char err[512] = "";
  pop_call(pop, pop->be->pop_set_member(pop->lanes, lane, p.data(), m.data(), v.data(), n, step, err, sizeof err),
           "pop_set_member", err);
}

namespace {

bool same_hparams(const anbn_config &a, const anbn_config &b) {
  return a.lr == b.lr && a.beta1 == b.beta1 && a.beta2 == b.beta2 && a.eps == b.eps && a.clip_norm == b.clip_norm;
}

// The lockstep epoch.  Nothing of a member changes before the end; then the
// members that finished write their lanes back (parameters, Adam, step,
// epoch), the failed ones get their generator back.
void train_lanes(anbn_population *pop, const std::vector<const anbn_corpus *> &corpus, const std::vector<char> &on,
                 anbn_status *status, std::vector<anbn_epoch_stats> &st) {
  const auto t0 = std::chrono::steady_clock::now();
  const size_t P = pop->members.size(), n = pop->members[0]->num_params;
  char err[512] = "";
  std::vector<float> p(n), m(n), v(n);
  std::vector<std::vector<size_t>> order(P);
  std::vector<Rng> rng0(P);
  size_t steps = 0;
  for (size_t b = 0; b < P; ++b) {
    if (!on[b]) continue;
    anbn_model *mb = pop->members[b];
    load_lane(pop, b, int32_t(b));
    rng0[b] = mb->rng;
    order[b] = epoch_order(mb, *corpus[b]);
    steps = std::max(steps, order[b].size());
  }
  const anbn_config &c = pop->members[0]->cfg;
  const anbn_adam_hparams hp{c.lr, c.beta1, c.beta2, c.eps, c.clip_norm};
  std::vector<int32_t> T(P), div(P), x, y;
  std::vector<double> loss(P), loss_sum(P, 0.0);
  std::vector<anbn_status> s(P, ANBN_OK), ss(P);
  std::vector<size_t> done(P, 0);
  for (size_t k = 0; k < steps; ++k) {
    int32_t Tmax = 0;
    for (size_t b = 0; b < P; ++b) {
      const bool go = on[b] && s[b] == ANBN_OK && k < order[b].size();
      T[b] = go ? int32_t(corpus[b]->len(order[b][k]) - 1) : 0;
      div[b] = T[b] + 1;
      Tmax = std::max(Tmax, T[b]);
    }
    if (Tmax == 0) break;
    x.assign(P * size_t(Tmax), 0), y.assign(P * size_t(Tmax), 0);  // padding: a valid token, never scored
    for (size_t b = 0; b < P; ++b) {
      if (!T[b]) continue;
      const int32_t *q = corpus[b]->seq(order[b][k]);
      std::copy(q, q + T[b], x.begin() + long(b) * Tmax);
      std::copy(q + 1, q + T[b] + 1, y.begin() + long(b) * Tmax);
    }
    std::fill(ss.begin(), ss.end(), ANBN_OK);
    pop_call(pop, pop->be->pop_train_step(pop->lanes, x.data(), y.data(), Tmax, T.data(), div.data(), &hp, loss.data(),
                                          ss.data(), err, sizeof err),
             "pop_train_step", err);
    for (size_t b = 0; b < P; ++b) {
      if (!T[b]) continue;
      if (ss[b] != ANBN_OK) s[b] = ss[b];
      else loss_sum[b] += loss[b], ++done[b];
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (size_t b = 0; b < P; ++b) {
    if (!on[b]) continue;
    anbn_model *mb = pop->members[b];
    status[b] = s[b];
    if (s[b] != ANBN_OK) {
      mb->rng = rng0[b];  // as a failed anbn_train_epoch: nothing changed
      continue;
    }
    int64_t step = 0;
    pop_call(pop, pop->be->pop_get_member(pop->lanes, int32_t(b), p.data(), m.data(), v.data(), n, &step, err, sizeof err),
             "pop_get_member", err);
    ANBN_BE(mb, set_params, p.data(), n);
    ANBN_BE(mb, set_adam, m.data(), v.data(), n, step);
    anbn_epoch_stats &e = st[b];
    e.epoch = mb->epoch;
    e.mean_loss = order[b].empty() ? 0.0 : loss_sum[b] / double(order[b].size());
    e.sequences = order[b].size();
    e.batches = order[b].size();
    e.seconds = seconds / double(P);  // the lockstep's time, shared
    mb->adam_step += int64_t(done[b]);
    ++mb->epoch;
  }
}

}  // namespace
}  // namespace anbn

using namespace anbn;

extern "C" {

anbn_status anbn_population_create(const anbn_config *config, const uint64_t *seeds, size_t count,
                                   anbn_population **out) {
  return guard([&] {
    ANBN_CHECK_ARG(config && seeds && out, "config, seeds or out is NULL");
    ANBN_CHECK_ARG(count >= 1 && count <= 1000000, "a population has 1..1e6 members, got %zu", count);
    auto pop = std::make_unique<anbn_population>();
    anbn_config defaults;
    anbn_config_init_v2(&defaults, sizeof defaults);
    anbn_config c = read_in(config, defaults, "config");
    for (size_t i = 0; i < count; ++i) {
      c.seed = seeds[i];
      anbn_model *m = nullptr;
      const anbn_status s = anbn_create(&c, &m);
      if (s != ANBN_OK) raise(s, "member %zu: %s", i, anbn_last_error());
      pop->members.push_back(m);
    }
    anbn_model *m0 = pop->members[0];
    pop->be = m0->be;
    if (pop->be->pop_create && pop->be->pop_set_member && pop->be->pop_get_member && pop->be->pop_train_step &&
        m0->cfg.batch_size == 1) {
      anbn_backend_desc d{};
      d.struct_size = sizeof d;
      d.cell = m0->shape.cell, d.layers = m0->shape.layers, d.hidden = m0->shape.hidden, d.embed = m0->shape.embed;
      d.vocab = m0->shape.vocab, d.output = m0->shape.output, d.threads = 1;
      char err[512] = "";
      pop_call(pop.get(), pop->be->pop_create(&d, int32_t(count), &pop->lanes, err, sizeof err), "pop_create", err);
    }
    *out = pop.release();
    return ANBN_OK;
  });
}

void anbn_population_destroy(anbn_population *pop) { destroy_handle(pop); }

anbn_status anbn_population_size(const anbn_population *pop, size_t *count) {
  return guard([&] {
    ANBN_CHECK_ARG(pop && count, "population or count is NULL");
    *count = pop->members.size();
    return ANBN_OK;
  });
}

anbn_status anbn_population_member(anbn_population *pop, size_t i, anbn_model **member) {
  return guard([&] {
    ANBN_CHECK_ARG(pop && member, "population or member is NULL");
    ANBN_CHECK_ARG(i < pop->members.size(), "member %zu of %zu", i, pop->members.size());
    *member = pop->members[i];
    return ANBN_OK;
  });
}

anbn_status anbn_population_train_epoch(anbn_population *pop, const anbn_corpus *const *corpora, size_t corpora_count,
                                        const int32_t *active, anbn_status *status, anbn_epoch_stats *stats) {
  return guard([&] {
    ANBN_CHECK_ARG(pop && corpora, "population or corpora is NULL");
    PopLock hold(pop, "population");
    const size_t P = pop->members.size();
    ANBN_CHECK_ARG(corpora_count == 1 || corpora_count == P, "corpora_count must be 1 or %zu, got %zu", P, corpora_count);
    std::vector<const anbn_corpus *> corpus(P);
    std::vector<char> on(P);
    std::vector<std::unique_ptr<ModelLock>> locks;  // every member held: BUSY before anything changes
    for (size_t b = 0; b < P; ++b) {
      corpus[b] = corpora[corpora_count == 1 ? 0 : b];
      on[b] = !active || active[b] != 0;
      locks.push_back(std::make_unique<ModelLock>(pop->members[b]));
      if (on[b]) check_corpus_for(pop->members[b], corpus[b]);
    }
    std::vector<anbn_epoch_stats> st(P);
    std::vector<anbn_status> s(P, ANBN_OK);
    bool lanes = pop->lanes != nullptr;
    for (size_t b = 0; b < P && lanes; ++b)  // one step's settings for every lane
      lanes = pop->members[b]->cfg.batch_size == 1 && same_hparams(pop->members[b]->cfg, pop->members[0]->cfg);
    if (lanes) {
      train_lanes(pop, corpus, on, s.data(), st);
    } else {
      for (size_t b = 0; b < P; ++b) {
        if (!on[b]) continue;
        st[b].struct_size = sizeof st[b];
        const anbn_status r = guard([&] { return train_epoch_held(pop->members[b], corpus[b], nullptr, nullptr, &st[b]), ANBN_OK; });
        if (r != ANBN_OK && r != ANBN_ERR_NUMERIC) raise(r, "member %zu: %s", b, anbn_last_error());
        s[b] = r;
      }
    }
    for (size_t b = 0; b < P; ++b) {
      if (status) status[b] = s[b];
      if (stats && on[b] && s[b] == ANBN_OK) write_out(&stats[b], st[b], "stats");
    }
    return ANBN_OK;
  });
}

}  // extern "C"
