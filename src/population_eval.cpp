// Capacity scans, spot checks, evaluation and generation of a population's
// members: with the backend's pop_forward, a group of members at a time in
// lanes (the group loaded into lanes 0..g-1; a lane may be a member or a
// (member, sequence) pair), each member's numbers those of its model alone;
// without, one member after another through the single-model call.
#include <algorithm>
#include <map>
#include <memory>

#include "generate.hpp"
#include "population.hpp"
#include "score.hpp"
#include "versioned.hpp"

namespace anbn {
namespace {

// The members a call covers.
std::vector<size_t> active_members(const anbn_population *pop, const int32_t *active) {
  std::vector<size_t> out;
  for (size_t b = 0; b < pop->members.size(); ++b)
    if (!active || active[b]) out.push_back(b);
  return out;
}

// Members per group for sequences of `steps`: a group's outputs (members,
// steps, 2 L H + O) floats stay within 128 MiB.
size_t group_size(const anbn_model *m0, size_t steps) {
  constexpr double kFloats = double(1 << 25);  // 128 MiB of outputs
  const double per = double(steps) * double(2 * m0->shape.layers * m0->shape.hidden + m0->shape.output);
  return size_t(std::clamp(kFloats / per, 1.0, 256.0));
}

bool has_lanes(const anbn_population *pop) { return pop->lanes && pop->be->pop_forward; }

// Forward of lanes 0..g-1, lane b the member loaded into lane b.
void lanes_forward(anbn_population *pop, size_t g, const int32_t *x, size_t T, const float *h0, const float *c0,
                   const anbn_forward_out &out) {
  std::vector<int32_t> lanes(g);
  for (size_t b = 0; b < g; ++b) lanes[b] = int32_t(b);
  pop_forward(pop, lanes, x, T, h0, c0, out);
}

// anbn_capacity_v2 for the members grp, loaded in lanes 0..g-1: START 0^max_n
// once for all (outputs and states kept after each prefix), then the rest of
// each n from the states after 0^n, every lane the same tokens.
void scan_group(anbn_population *pop, const std::vector<size_t> &grp, int32_t max_n, anbn_capacity_result *res,
                anbn_capacity_row_v2 *const *rows) {
  const anbn_model *m0 = pop->members[0];
  const int O = m0->shape.output;
  const size_t g = grp.size(), L = size_t(m0->shape.layers), H = size_t(m0->shape.hidden), LH = L * H;
  const size_t T0 = size_t(max_n) + 1;
  const bool with_c = m0->shape.def().cell_state;
  std::vector<int32_t> x(g * T0, 0);
  for (size_t b = 0; b < g; ++b) x[b * T0] = m0->alphabet + 1;
  std::vector<float> pre_lp(g * T0 * O), pre_h(g * T0 * LH), pre_c(with_c ? pre_h.size() : 0);
  lanes_forward(pop, g, x.data(), T0, nullptr, nullptr,
                anbn_forward_out{pre_lp.data(), pre_h.data(), with_c ? pre_c.data() : nullptr, nullptr});
  std::vector<int32_t> first_failure(g, 0);
  size_t failed = 0;
  bool any_rows = false;
  for (size_t b = 0; b < g; ++b) any_rows = any_rows || (rows && rows[grp[b]]);
  std::vector<float> lp, logp, h0(L * g * H), c0(with_c ? h0.size() : 0);
  for (int32_t n = 1; n <= max_n && !(failed == g && !any_rows); ++n) {
    const std::vector<int32_t> sq = language_sequence(m0->cfg.language, n);
    const size_t Tn = sq.size() - 1, shared = size_t(n) + 1, rest = Tn - shared;  // inputs START 0^n are shared
    x.resize(g * rest);
    for (size_t b = 0; b < g; ++b) std::copy(sq.begin() + long(shared), sq.begin() + long(Tn), x.begin() + long(b * rest));
    for (size_t b = 0; b < g; ++b)
      for (size_t l = 0; l < L; ++l)
        for (size_t j = 0; j < H; ++j) {
          const size_t src = (b * T0 + shared - 1) * LH + l * H + j, dst = (l * g + b) * H + j;
          h0[dst] = pre_h[src];
          if (with_c) c0[dst] = pre_c[src];
        }
    lp.resize(g * rest * O);
    if (rest) lanes_forward(pop, g, x.data(), rest, h0.data(), with_c ? c0.data() : nullptr,
                            anbn_forward_out{lp.data(), nullptr, nullptr, nullptr});
    logp.resize(Tn * O);
    for (size_t b = 0; b < g; ++b) {
      std::copy(pre_lp.begin() + long(b * T0 * O), pre_lp.begin() + long((b * T0 + shared) * O), logp.begin());
      std::copy(lp.begin() + long(b * rest * O), lp.begin() + long((b + 1) * rest * O), logp.begin() + long(shared * O));
      const SeqScore sc = score(sq.data(), sq.size(), logp.data(), O);
      if (rows && rows[grp[b]])
        rows[grp[b]][n - 1] = anbn_capacity_row_v2{n, sc.errors, sc.det_errors, int32_t(Tn), float(sc.min_prob)};
      if (sc.det_errors && !first_failure[b]) first_failure[b] = n, ++failed;
    }
  }
  for (size_t b = 0; b < g; ++b) {
    anbn_capacity_result r{};
    r.struct_size = sizeof r;
    r.max_n = max_n;
    r.first_failure = first_failure[b];
    r.capacity = r.first_failure ? r.first_failure - 1 : max_n;
    write_out(&res[grp[b]], r, "results");
  }
}

// anbn_capacity_at for the members grp in lanes 0..g-1: each n from the
// zero state, every lane the same tokens.
void spot_group(anbn_population *pop, const std::vector<size_t> &grp, const int32_t *ns, size_t count,
                anbn_capacity_row_v2 *const *rows) {
  const anbn_model *m0 = pop->members[0];
  const int O = m0->shape.output;
  const size_t g = grp.size();
  std::vector<int32_t> x;
  std::vector<float> lp;
  for (size_t i = 0; i < count; ++i) {
    const std::vector<int32_t> sq = language_sequence(m0->cfg.language, ns[i]);
    const size_t T = sq.size() - 1;
    x.resize(g * T), lp.resize(g * T * O);
    for (size_t b = 0; b < g; ++b) std::copy(sq.begin(), sq.begin() + long(T), x.begin() + long(b * T));
    lanes_forward(pop, g, x.data(), T, nullptr, nullptr, anbn_forward_out{lp.data(), nullptr, nullptr, nullptr});
    for (size_t b = 0; b < g; ++b) {
      const SeqScore sc = score(sq.data(), sq.size(), lp.data() + b * T * O, O);
      rows[grp[b]][i] = anbn_capacity_row_v2{ns[i], sc.errors, sc.det_errors, int32_t(T), float(sc.min_prob)};
    }
  }
}

// Runs a population call over the members todo: without lanes, `one(b)`
// (the single-model call, which holds member b itself) for each member in
// turn; with lanes, `lanes(grp)` for groups of `group` members loaded into
// lanes 0..g-1, every member held first (BUSY before anything is written
// if one is in use elsewhere).
template <class One, class Lanes>
void per_member(anbn_population *pop, const std::vector<size_t> &todo, size_t group, One &&one, Lanes &&lanes) {
  if (!has_lanes(pop)) {
    for (size_t b : todo) {
      const anbn_status s = one(b);
      if (s != ANBN_OK) raise(s, "member %zu: %s", b, anbn_last_error());
    }
    return;
  }
  std::vector<std::unique_ptr<ModelLock>> locks;
  for (size_t b : todo) locks.push_back(std::make_unique<ModelLock>(pop->members[b]));
  for (size_t i0 = 0; i0 < todo.size(); i0 += group) {
    const std::vector<size_t> grp(todo.begin() + long(i0), todo.begin() + long(std::min(todo.size(), i0 + group)));
    for (size_t b = 0; b < grp.size(); ++b) load_lane(pop, grp[b], int32_t(b));
    lanes(grp);
  }
}

// anbn_evaluate for the members grp (loaded in lanes 0..g-1) on their
// corpora: one length at a time, every sequence of that length of every
// member in lanes; each member's loss summed in anbn_evaluate's order
// (length, then corpus order).
void evaluate_group(anbn_population *pop, const std::vector<size_t> &grp, const std::vector<const anbn_corpus *> &corpus,
                    anbn_eval_stats *stats) {
  const int O = pop->members[0]->shape.output;
  const size_t g = grp.size();
  std::map<size_t, std::vector<std::pair<size_t, size_t>>> by_len;  // length -> (slot, sequence)
  for (size_t b = 0; b < g; ++b)
    for (size_t i = 0; i < corpus[grp[b]]->size(); ++i) by_len[corpus[grp[b]]->len(i)].emplace_back(b, i);
  std::vector<anbn_eval_stats> st(g);
  std::vector<double> loss_sum(g, 0.0);
  std::vector<int32_t> x, lanes;
  std::vector<float> lp;
  for (const auto &[L, items] : by_len) {
    const size_t T = L - 1;
    // Up to 1024 lanes, fewer for long sequences: the log-probs stay within 2^25 floats.
    const size_t kLanes = std::clamp<size_t>((size_t(1) << 25) / std::max<size_t>(1, T * size_t(O)), 1, 1024);
    for (size_t start = 0; start < items.size(); start += kLanes) {
      const size_t B = std::min(kLanes, items.size() - start);
      x.resize(B * T), lp.resize(B * T * O), lanes.resize(B);
      for (size_t q = 0; q < B; ++q) {
        const auto [b, i] = items[start + q];
        lanes[q] = int32_t(b);
        std::copy(corpus[grp[b]]->seq(i), corpus[grp[b]]->seq(i) + T, x.begin() + long(q * T));
      }
      pop_forward(pop, lanes, x.data(), T, nullptr, nullptr, anbn_forward_out{lp.data(), nullptr, nullptr, nullptr});
      for (size_t q = 0; q < B; ++q) {
        const auto [b, i] = items[start + q];
        const SeqScore sc = score(corpus[grp[b]]->seq(i), L, lp.data() + q * T * O, O);
        anbn_eval_stats &e = st[b];
        loss_sum[b] += sc.loss;
        e.positions += T;
        e.errors += size_t(sc.errors);
        e.deterministic_positions += size_t(sc.det_positions);
        e.deterministic_errors += size_t(sc.det_errors);
        e.correct_sequences += sc.det_errors == 0;
      }
    }
  }
  for (size_t b = 0; b < g; ++b) {
    anbn_eval_stats &e = st[b];
    e.struct_size = sizeof e;
    e.sequences = corpus[grp[b]]->size();
    e.mean_loss = e.sequences ? loss_sum[b] / double(e.sequences) : 0.0;
    write_out(&stats[grp[b]], e, "stats");
  }
}

// anbn_generate for the members grp (loaded in lanes 0..g-1): lanes are
// (member, sample) pairs, sample i of every member drawing from the same
// stream i as anbn_generate's sample i.
void generate_group(anbn_population *pop, const std::vector<size_t> &grp, const anbn_generate_config &cfg,
                    std::vector<std::unique_ptr<anbn_corpus>> &out, std::vector<size_t> &valid) {
  const anbn_model *m0 = pop->members[0];
  const size_t g = grp.size();
  Rng stream(cfg.seed);
  std::vector<Rng> streams, rngs;
  std::vector<std::vector<int32_t>> seqs;
  std::vector<int32_t> lanes;
  for (size_t first = 0; first < cfg.count; first += kGenerateChunk) {
    const size_t n = std::min(kGenerateChunk, cfg.count - first);
    streams.clear();
    for (size_t i = 0; i < n; ++i) streams.push_back(stream), stream.jump();
    rngs.clear(), seqs.assign(g * n, {});  // lane s: member slot s / n, sample s % n
    for (size_t b = 0; b < g; ++b) rngs.insert(rngs.end(), streams.begin(), streams.end());
    sample_lanes(m0->shape, m0->alphabet, cfg, rngs, seqs,
                 [&](const std::vector<size_t> &live, const int32_t *tok, const float *h, const float *cs,
                     const anbn_forward_out &fo) {
                   lanes.resize(live.size());
                   for (size_t q = 0; q < live.size(); ++q) lanes[q] = int32_t(live[q] / n);
                   pop_forward(pop, lanes, tok, 1, h, cs, fo);
                 });
    for (size_t s = 0; s < seqs.size(); ++s) {
      const size_t b = grp[s / n];
      valid[b] += language_member(m0->cfg.language, seqs[s].data(), seqs[s].size()) > 0;
      out[b]->push(seqs[s].data(), seqs[s].size());
    }
  }
}

}  // namespace
}  // namespace anbn

using namespace anbn;

extern "C" {

anbn_status anbn_population_capacity(anbn_population *pop, int32_t max_n, const int32_t *active,
                                     anbn_capacity_result *results, anbn_capacity_row_v2 *const *rows) {
  return guard([&] {
    ANBN_CHECK_ARG(pop && results, "population or results is NULL");
    ANBN_CHECK_ARG(max_n >= 1 && max_n <= 1000000, "max_n must be in 1..1e6, got %d", max_n);
    PopLock hold(pop, "population");
    per_member(
        pop, active_members(pop, active), group_size(pop->members[0], size_t(max_n) + 1),
        [&](size_t b) {
          return anbn_capacity_v2(pop->members[b], max_n, &results[b], rows ? rows[b] : nullptr,
                                  rows && rows[b] ? size_t(max_n) : 0);
        },
        [&](const std::vector<size_t> &grp) { scan_group(pop, grp, max_n, results, rows); });
    return ANBN_OK;
  });
}

anbn_status anbn_population_capacity_at(anbn_population *pop, const int32_t *ns, size_t count, const int32_t *active,
                                        anbn_capacity_row_v2 *const *rows) {
  return guard([&] {
    ANBN_CHECK_ARG(pop && ns && rows, "population, ns or rows is NULL");
    PopLock hold(pop, "population");
    const std::vector<size_t> todo = active_members(pop, active);
    double work = 0;
    size_t longest = 1;
    for (size_t i = 0; i < count; ++i) {
      ANBN_CHECK_ARG(ns[i] >= 1 && ns[i] <= 1000000, "ns[%zu] = %d is not in 1..1e6", i, ns[i]);
      const size_t len = language_length(pop->members[0]->cfg.language, ns[i]);
      work += double(len), longest = std::max(longest, len);
    }
    ANBN_CHECK_ARG(work <= kMaxWorkTokens, "the spot checks add up to %.0f steps per member, more than the %.0f one call may take",
                   work, kMaxWorkTokens);
    for (size_t b : todo) ANBN_CHECK_ARG(rows[b], "rows[%zu] is NULL for an active member", b);
    per_member(
        pop, todo, group_size(pop->members[0], longest),
        [&](size_t b) { return anbn_capacity_at(pop->members[b], ns, count, rows[b]); },
        [&](const std::vector<size_t> &grp) { spot_group(pop, grp, ns, count, rows); });
    return ANBN_OK;
  });
}

anbn_status anbn_population_evaluate(anbn_population *pop, const anbn_corpus *const *corpora, size_t corpora_count,
                                     const int32_t *active, anbn_eval_stats *stats) {
  return guard([&] {
    ANBN_CHECK_ARG(pop && corpora && stats, "population, corpora or stats is NULL");
    PopLock hold(pop, "population");
    const size_t P = pop->members.size();
    ANBN_CHECK_ARG(corpora_count == 1 || corpora_count == P, "corpora_count must be 1 or %zu, got %zu", P, corpora_count);
    std::vector<const anbn_corpus *> corpus(P);
    const std::vector<size_t> todo = active_members(pop, active);
    for (size_t b : todo) {
      corpus[b] = corpora[corpora_count == 1 ? 0 : b];
      ANBN_CHECK_ARG(corpus[b], "corpora[%zu] is NULL", corpora_count == 1 ? size_t(0) : b);
      ANBN_CHECK_ARG(corpus[b]->alphabet == pop->members[b]->alphabet, "corpus alphabet %d does not match the model's %d",
                     corpus[b]->alphabet, pop->members[b]->alphabet);
    }
    per_member(
        pop, todo, 64, [&](size_t b) { return anbn_evaluate(pop->members[b], corpus[b], &stats[b]); },
        [&](const std::vector<size_t> &grp) { evaluate_group(pop, grp, corpus, stats); });
    return ANBN_OK;
  });
}

anbn_status anbn_population_generate(anbn_population *pop, const anbn_generate_config *config, const int32_t *active,
                                     anbn_corpus **out, size_t *valid_out) {
  return guard([&] {
    ANBN_CHECK_ARG(pop && config && out, "population, config or out is NULL");
    const anbn_generate_config cfg = read_generate_config(config);
    PopLock hold(pop, "population");
    const size_t P = pop->members.size();
    const std::vector<size_t> todo = active_members(pop, active);
    std::vector<std::unique_ptr<anbn_corpus>> made(P);  // nothing handed out unless every member's is made
    std::vector<size_t> valid(P, 0);
    for (size_t b : todo) made[b] = std::make_unique<anbn_corpus>(), made[b]->alphabet = pop->members[b]->alphabet;
    per_member(
        pop, todo, std::clamp<size_t>(4096 / std::max<size_t>(1, std::min(cfg.count, kGenerateChunk)), 1, 256),
        [&](size_t b) {
          anbn_corpus *c = nullptr;
          const anbn_status s = anbn_generate(pop->members[b], &cfg, &c, &valid[b]);
          made[b].reset(c);
          return s;
        },
        [&](const std::vector<size_t> &grp) { generate_group(pop, grp, cfg, made, valid); });
    for (size_t b = 0; b < P; ++b) {
      out[b] = made[b].release();
      if (valid_out) valid_out[b] = valid[b];
    }
    return ANBN_OK;
  });
}

}  // extern "C"
