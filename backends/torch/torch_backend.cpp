// The libtorch backend plugin (libanbn-torch.so): backends "torch-cpu" and
// "torch-cuda", built with libtorch's C++ frontend — torch::nn::Embedding,
// RNN (tanh) / LSTM / GRU, Linear, log_softmax, autograd and
// torch::optim::Adam; the peephole LSTM (which torch::nn lacks) is `step`
// below in torch ops, unrolled over time.  Adam's update is DESIGN.md §2's:
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//   p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
// The modules are registered as "embedding", "rnn", "fc", so the module's
// named parameters are the checkpoint's tensors, in canonical order.
// One translation unit: libtorch headers are slow to compile.
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "anbn/backend.h"
#include "../common/plugin_util.hpp"

namespace {

using std::size_t;

void set_err(char *err, size_t len, const std::string &msg) {
  if (err && len) std::snprintf(err, len, "%s", msg.c_str());
}

struct Ctx {
  anbn_backend_desc d{};
  torch::Device dev{torch::kCPU};
  int G = 1, H = 0, L = 0, O = 0;
  std::shared_ptr<torch::nn::Module> root = std::make_shared<torch::nn::Module>();
  torch::nn::Embedding emb{nullptr};
  torch::nn::RNN rnn{nullptr};
  torch::nn::LSTM lstm{nullptr};
  torch::nn::GRU gru{nullptr};
  std::shared_ptr<torch::nn::Module> unrolled;  // the peephole cell's tensors, stepped by `step`
  torch::nn::Linear fc{nullptr};
  const anbn_cells::Def *cell = nullptr;
  std::vector<torch::Tensor> params;  // canonical order
  std::vector<size_t> numel;
  size_t total = 0;
  int threads = 1;
  std::unique_ptr<torch::optim::Adam> opt;
  // A population (pop_create): every canonical tensor with a leading member
  // dimension, its Adam moments, and a step per member.
  int64_t P = 0;
  std::vector<torch::Tensor> pp, pm, pv;
  torch::Tensor psteps;

  void init(const anbn_backend_desc &desc, torch::Device device) {
    d = desc, dev = device;
    cell = anbn_cells::find(d.cell);
    G = cell->gates;
    H = d.hidden, L = d.layers, O = d.output;
    emb = root->register_module("embedding", torch::nn::Embedding(d.vocab, d.embed));
    if (cell->peephole) {  // canonical order: per layer W_ih, W_hh, b_ih, b_hh, P (values come from the core)
      unrolled = root->register_module("rnn", std::make_shared<torch::nn::Module>());
      for (int l = 0; l < L; ++l) {
        const std::string s = std::to_string(l);
        unrolled->register_parameter("weight_ih_l" + s, torch::zeros({G * H, l ? H : d.embed}));
        unrolled->register_parameter("weight_hh_l" + s, torch::zeros({G * H, H}));
        unrolled->register_parameter("bias_ih_l" + s, torch::zeros({G * H}));
        unrolled->register_parameter("bias_hh_l" + s, torch::zeros({G * H}));
        unrolled->register_parameter("weight_peephole_l" + s, torch::zeros({cell->peephole, H}));
      }
    } else if (d.cell == ANBN_CELL_LSTM)
      lstm = root->register_module("rnn", torch::nn::LSTM(torch::nn::LSTMOptions(d.embed, H).num_layers(L).batch_first(true)));
    else if (d.cell == ANBN_CELL_GRU)
      gru = root->register_module("rnn", torch::nn::GRU(torch::nn::GRUOptions(d.embed, H).num_layers(L).batch_first(true)));
    else
      rnn = root->register_module(
          "rnn", torch::nn::RNN(torch::nn::RNNOptions(d.embed, H).num_layers(L).nonlinearity(torch::kTanh).batch_first(true)));
    fc = root->register_module("fc", torch::nn::Linear(H, O));
    root->to(dev);
    for (const auto &kv : root->named_parameters()) {
      params.push_back(kv.value());
      numel.push_back(size_t(kv.value().numel()));
      total += numel.back();
    }
    opt = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(1e-3));
    threads = d.threads > 0 ? d.threads : 1;
  }

  // (B, T) int32 on the host -> int64 on the device.
  torch::Tensor tokens(const int32_t *x, int B, int T) const {
    return torch::from_blob(const_cast<int32_t *>(x), {B, T}, torch::kInt32).to(dev, torch::kLong);
  }

  // The module path: (B, T, H) top-layer outputs and the final (layers, B, H) states.
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> run(const torch::Tensor &x, const torch::Tensor &h0,
                                                              const torch::Tensor &c0) {
    auto e = emb->forward(x);
    if (unrolled) {
      const Pass P = pass(e, h0, c0, torch::kFloat32, false);
      std::vector<torch::Tensor> hn, cn;
      for (int l = 0; l < L; ++l) hn.push_back(P.h[l].select(1, -1)), cn.push_back(P.c[l].select(1, -1));
      return {P.h[L - 1], torch::stack(hn), torch::stack(cn)};
    }
    if (lstm) {
      auto out = h0.defined() ? lstm->forward(e, std::make_tuple(h0, c0)) : lstm->forward(e);
      return {std::get<0>(out), std::get<0>(std::get<1>(out)), std::get<1>(std::get<1>(out))};
    }
    auto out = gru ? (h0.defined() ? gru->forward(e, h0) : gru->forward(e))
                   : (h0.defined() ? rnn->forward(e, h0) : rnn->forward(e));
    return {std::get<0>(out), std::get<1>(out), torch::Tensor()};
  }

  void copy_in(const float *src, const std::vector<torch::Tensor> &dst) const {
    torch::NoGradGuard ng;
    size_t off = 0;
    for (size_t i = 0; i < dst.size(); ++i) {
      auto host = torch::from_blob(const_cast<float *>(src + off), dst[i].sizes(), torch::kFloat32);
      dst[i].copy_(host);
      off += numel[i];
    }
  }

  void copy_out(const std::vector<torch::Tensor> &src, float *dst) const {
    size_t off = 0;
    for (size_t i = 0; i < src.size(); ++i) {
      auto host = src[i].detach().to(torch::kCPU, torch::kFloat32).contiguous();
      std::memcpy(dst + off, host.data_ptr<float>(), numel[i] * sizeof(float));
      off += numel[i];
    }
  }

  torch::optim::AdamParamState *state(size_t i) {
    auto &s = opt->state();
    auto it = s.find(params[i].unsafeGetTensorImpl());
    return it == s.end() ? nullptr : static_cast<torch::optim::AdamParamState *>(it->second.get());
  }

  int64_t step() { return state(0) ? state(0)->step() : 0; }

  void get_adam(float *m, float *v, int64_t *st) {
    std::vector<torch::Tensor> ms, vs;
    for (size_t i = 0; i < params.size(); ++i) {
      auto *s = state(i);
      ms.push_back(s ? s->exp_avg() : torch::zeros_like(params[i]));
      vs.push_back(s ? s->exp_avg_sq() : torch::zeros_like(params[i]));
    }
    copy_out(ms, m), copy_out(vs, v);
    *st = step();
  }

  void set_adam(const float *m, const float *v, int64_t st) {
    auto &s = opt->state();
    for (size_t i = 0; i < params.size(); ++i) {
      void *key = params[i].unsafeGetTensorImpl();
      s.erase(key);
      if (st == 0) continue;  // a fresh optimizer: torch initialises on the first step
      auto ps = std::make_unique<torch::optim::AdamParamState>();
      ps->step(st);
      ps->exp_avg(torch::zeros_like(params[i], torch::MemoryFormat::Contiguous));
      ps->exp_avg_sq(torch::zeros_like(params[i], torch::MemoryFormat::Contiguous));
      s[key] = std::move(ps);
    }
    if (st == 0) return;
    std::vector<torch::Tensor> ms, vs;
    for (size_t i = 0; i < params.size(); ++i) ms.push_back(state(i)->exp_avg()), vs.push_back(state(i)->exp_avg_sq());
    copy_in(m, ms), copy_in(v, vs);
  }

  // Loss (mean over b of sum_t -logp[y] / divisor), computed with autograd.
  torch::Tensor loss_of(const int32_t *x, const int32_t *y, int B, int T, int divisor) {
    auto xt = tokens(x, B, T), yt = tokens(y, B, T);
    auto out = std::get<0>(run(xt, torch::Tensor(), torch::Tensor()));
    auto logp = torch::log_softmax(fc->forward(out), -1);           // (B, T, O)
    auto picked = logp.gather(2, yt.unsqueeze(2)).squeeze(2);        // (B, T)
    return -picked.sum() / (double(divisor) * B);
  }

  bool grads_finite() {
    for (auto &p : params)
      if (!p.grad().defined() || !torch::isfinite(p.grad()).all().item<bool>()) return false;
    return true;
  }

  // anbn_status, with the loss in *loss; on NUMERIC the core rolls the epoch back.
  anbn_status train_batch(const int32_t *x, const int32_t *y, int B, int T, int divisor, const anbn_adam_hparams &hp,
                          double *loss, std::string *why) {
    root->train();
    opt->zero_grad();
    auto l = loss_of(x, y, B, T, divisor);
    *loss = l.item<double>();
    if (!std::isfinite(*loss)) return *why = "non-finite loss; nothing was updated", ANBN_ERR_NUMERIC;
    l.backward();
    if (!grads_finite()) return *why = "non-finite gradient; nothing was updated", ANBN_ERR_NUMERIC;
    if (hp.clip_norm > 0.f) torch::nn::utils::clip_grad_norm_(params, double(hp.clip_norm));
    auto &o = static_cast<torch::optim::AdamOptions &>(opt->param_groups()[0].options());
    o.lr(hp.lr).betas({hp.beta1, hp.beta2}).eps(hp.eps).weight_decay(0).amsgrad(false);
    // No copy of the state per step: on a diverging update the core restores
    // the snapshot it took when the epoch began (one rollback, in the core).
    bool ok = true;
    try {
      opt->step();
    } catch (const std::exception &) {  // c10::report_overflow: lr / (1 - beta1^t) overflows float, a divergence
      ok = false;
    }
    torch::NoGradGuard ng;
    for (auto &p : params) ok = ok && torch::isfinite(p).all().item<bool>();
    if (!ok)
      return *why = "the Adam update made a parameter non-finite (learning rate too large?); the call is rolled back",
             ANBN_ERR_NUMERIC;
    return ANBN_OK;
  }

  void gradients(const int32_t *x, const int32_t *y, int B, int T, int divisor, float *grad, double *loss) {
    root->train();
    for (auto &p : params) p.mutable_grad() = torch::Tensor();
    auto l = loss_of(x, y, B, T, divisor);
    *loss = l.item<double>();
    l.backward();
    std::vector<torch::Tensor> g;
    for (auto &p : params) g.push_back(p.grad().defined() ? p.grad() : torch::zeros_like(p));
    copy_out(g, grad);
    for (auto &p : params) p.mutable_grad() = torch::Tensor();
  }

  // Forward only.  log-probs come from the modules; hidden states of every
  // layer, cell states and gates from a per-step pass over the same weights
  // (torch's modules return the top layer's outputs and final states only).
  void forward(const int32_t *x, int B, int T, const float *h0, const float *c0, const anbn_forward_out &out) {
    torch::NoGradGuard ng;
    root->eval();
    auto xt = tokens(x, B, T);
    torch::Tensor h0t, c0t;
    if (h0 || c0) {
      auto z = torch::zeros({L, B, H});
      h0t = (h0 ? torch::from_blob(const_cast<float *>(h0), {L, B, H}, torch::kFloat32).clone() : z).to(dev);
      c0t = (c0 ? torch::from_blob(const_cast<float *>(c0), {L, B, H}, torch::kFloat32).clone() : z).to(dev);
    }
    auto [top, hn, cn] = run(xt, h0t, cell->cell_state ? c0t : torch::Tensor());
    if (out.log_probs) {
      auto lp = torch::log_softmax(fc->forward(top), -1).to(torch::kCPU).contiguous();  // (B, T, O)
      std::memcpy(out.log_probs, lp.data_ptr<float>(), size_t(B) * T * O * sizeof(float));
    }
    const bool need_pass = out.gates || (out.cell && T > 1) || (out.hidden && L > 1 && T > 1);
    if (!need_pass) {
      if (out.hidden) {  // one layer: the module's outputs; one step: its final states
        auto h = (L == 1 ? top.unsqueeze(2) : hn.permute({1, 0, 2}).unsqueeze(1)).to(torch::kCPU).contiguous();
        std::memcpy(out.hidden, h.data_ptr<float>(), size_t(B) * T * L * H * sizeof(float));
      }
      if (out.cell) {  // T == 1
        auto c = cn.permute({1, 0, 2}).unsqueeze(1).to(torch::kCPU).contiguous();
        std::memcpy(out.cell, c.data_ptr<float>(), size_t(B) * L * H * sizeof(float));
      }
      return;
    }
    step_pass(xt, h0t, c0t, out);
  }

  // One step of the cell in torch ops (autograd follows them): xi, hh (B, G*H)
  // pre-activations W_ih x + b_ih and W_hh h' + b_hh, h and c (B, H), P the
  // peephole weights (3, H), or (B, 3, H) one set per row (a population),
  // undefined if none.  Returns h, c and the gates.
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> step(const torch::Tensor &xi, const torch::Tensor &hh,
                                                                 const torch::Tensor &h, const torch::Tensor &c,
                                                                 const torch::Tensor &P) const {
    if (cell->id == ANBN_CELL_RNN_TANH) return {torch::tanh(xi + hh), c, torch::Tensor()};
    if (cell->id == ANBN_CELL_GRU) {
      auto ai = xi.chunk(3, 1), ah = hh.chunk(3, 1);
      auto r = torch::sigmoid(ai[0] + ah[0]), z = torch::sigmoid(ai[1] + ah[1]);
      auto n = torch::tanh(ai[2] + r * ah[2]);
      return {(1 - z) * n + z * h, c, torch::cat({r, z, n}, 1)};
    }
    auto a = (xi + hh).chunk(4, 1);  // LSTM rows i, f, g, o; peepholes on c' (i, f) and on c (o)
    auto row = [&](int r) { return P.select(-2, r); };  // (H), or (B, H)
    auto i = torch::sigmoid(P.defined() ? a[0] + row(0) * c : a[0]), f = torch::sigmoid(P.defined() ? a[1] + row(1) * c : a[1]);
    auto g = torch::tanh(a[2]);
    auto c2 = f * c + i * g;
    auto o = torch::sigmoid(P.defined() ? a[3] + row(2) * c2 : a[3]);
    return {o * torch::tanh(c2), c2, torch::cat({i, f, g, o}, 1)};
  }

  // The recurrence unrolled step by step over every layer of embedded inputs
  // x (B, T, E), in dtype dt: per layer h and c (B, T, H) and, if asked, the
  // gates (B, T, G*H).  The peephole cell's forward, and every cell's probes
  // (torch's modules return the top layer's outputs and final states only).
  struct Pass {
    std::vector<torch::Tensor> h, c, g;
  };
  Pass pass(torch::Tensor x, const torch::Tensor &h0t, const torch::Tensor &c0t, torch::Dtype dt, bool gates) {
    auto opt = torch::TensorOptions().dtype(dt).device(x.device());
    auto params = root->named_parameters();
    const int B = int(x.size(0)), T = int(x.size(1));
    x = x.to(dt);
    Pass out{std::vector<torch::Tensor>(L), std::vector<torch::Tensor>(L), std::vector<torch::Tensor>(L)};
    for (int l = 0; l < L; ++l) {
      const std::string s = std::to_string(l);
      auto W_ih = params["rnn.weight_ih_l" + s].to(dt), W_hh = params["rnn.weight_hh_l" + s].to(dt);
      auto b_ih = params["rnn.bias_ih_l" + s].to(dt), b_hh = params["rnn.bias_hh_l" + s].to(dt);
      auto P = cell->peephole ? params["rnn.weight_peephole_l" + s].to(dt) : torch::Tensor();
      auto h = h0t.defined() ? h0t[l].to(dt) : torch::zeros({B, H}, opt);
      auto c = c0t.defined() && cell->cell_state ? c0t[l].to(dt) : torch::zeros({B, H}, opt);
      std::vector<torch::Tensor> H_t, C_t, G_t;
      for (int t = 0; t < T; ++t) {
        torch::Tensor g;
        std::tie(h, c, g) = step(torch::addmm(b_ih, x.select(1, t), W_ih.t()), torch::addmm(b_hh, h, W_hh.t()), h, c, P);
        H_t.push_back(h), C_t.push_back(c);
        if (gates && g.defined()) G_t.push_back(g);
      }
      out.h[l] = torch::stack(H_t, 1);
      out.c[l] = torch::stack(C_t, 1);
      if (!G_t.empty()) out.g[l] = torch::stack(G_t, 1);
      x = out.h[l];
    }
    return out;
  }

  // ------------------------------------------------------------ population

  void pop_init(int64_t members) {
    torch::NoGradGuard ng;
    P = members;
    for (const auto &t : params) {
      std::vector<int64_t> shape{P};
      for (int64_t d : t.sizes()) shape.push_back(d);
      pp.push_back(torch::zeros(shape, t.options()).requires_grad_(true));
      pm.push_back(torch::zeros(shape, t.options())), pv.push_back(torch::zeros(shape, t.options()));
    }
    psteps = torch::zeros({P}, torch::kLong);
  }

  void pop_member(int64_t i, const float *p, const float *m, const float *v, int64_t step, bool set) {
    torch::NoGradGuard ng;
    size_t off = 0;
    for (size_t k = 0; k < pp.size(); ++k) {
      for (auto [dst, src] : {std::pair{&pp[k], p}, std::pair{&pm[k], m}, std::pair{&pv[k], v}}) {
        auto host = torch::from_blob(const_cast<float *>(src + off), params[k].sizes(), torch::kFloat32);
        if (set) (*dst)[i].copy_(host);
        else host.copy_((*dst)[i].to(torch::kCPU));
      }
      off += numel[k];
    }
    if (set) psteps[i] = step;
  }

  // Members as a batch: every matmul a bmm over the member dimension, the
  // loss masked past each member's length, Adam in torch ops with each
  // member's own step, clipping norm and all-or-nothing commit.
  void pop_train(const int32_t *x, const int32_t *y, int Tmax, const int32_t *T, const int32_t *divisor,
                 const anbn_adam_hparams &hp, double *loss, anbn_status *status) {
    auto lens = torch::from_blob(const_cast<int32_t *>(T), {P}, torch::kInt32).to(torch::kLong);
    auto div = torch::from_blob(const_cast<int32_t *>(divisor), {P}, torch::kInt32).to(torch::kFloat64);
    auto xt = torch::from_blob(const_cast<int32_t *>(x), {P, Tmax}, torch::kInt32).to(dev, torch::kLong);
    auto yt = torch::from_blob(const_cast<int32_t *>(y), {P, Tmax}, torch::kInt32).to(dev, torch::kLong);
    for (auto &t : pp) t.mutable_grad() = torch::Tensor();
    size_t k = 0;  // canonical order: embedding, per layer W_ih, W_hh, b_ih, b_hh (, P), fc
    const auto &E = pp[k++];
    auto in = E.gather(1, xt.unsqueeze(-1).expand({P, Tmax, E.size(2)}));  // (P, T, E)
    for (int l = 0; l < L; ++l) {
      const auto &W_ih = pp[k], &W_hh = pp[k + 1], &b_ih = pp[k + 2], &b_hh = pp[k + 3];
      const torch::Tensor Pw = cell->peephole ? pp[k + 4] : torch::Tensor();
      k += cell->peephole ? 5 : 4;
      auto h = torch::zeros({P, H}, in.options()), c = torch::zeros({P, H}, in.options());
      std::vector<torch::Tensor> hs;
      for (int t = 0; t < Tmax; ++t) {
        auto xi = torch::baddbmm(b_ih.unsqueeze(2), W_ih, in.select(1, t).unsqueeze(2)).squeeze(2);
        auto hh = torch::baddbmm(b_hh.unsqueeze(2), W_hh, h.unsqueeze(2)).squeeze(2);
        torch::Tensor g;
        std::tie(h, c, g) = step(xi, hh, h, c, Pw);
        hs.push_back(h);
      }
      in = torch::stack(hs, 1);  // (P, T, H)
    }
    const auto &fw = pp[k], &fb = pp[k + 1];
    auto logp = torch::log_softmax(torch::baddbmm(fb.unsqueeze(1), in, fw.transpose(1, 2)), -1);  // (P, T, O)
    auto mask = torch::arange(Tmax, lens.options()).unsqueeze(0) < lens.unsqueeze(1);           // (P, T)
    auto nll = -logp.gather(2, yt.unsqueeze(2)).squeeze(2).masked_fill(~mask.to(dev), 0.0);
    auto per = nll.sum(1) / div.to(dev, torch::kFloat32);  // (P)
    per.sum().backward();
    torch::NoGradGuard ng;
    auto per_cpu = per.to(torch::kCPU, torch::kFloat64).contiguous();
    auto ok = torch::isfinite(per) & (lens.to(dev) > 0);
    std::vector<torch::Tensor> g;
    auto sq = torch::zeros({P}, per.options().dtype(torch::kFloat64));
    for (auto &t : pp) {
      g.push_back(t.grad().defined() ? t.grad() : torch::zeros_like(t));
      auto flat = g.back().reshape({P, -1});
      ok = ok & torch::isfinite(flat).all(1);
      sq = sq + flat.to(torch::kFloat64).pow(2).sum(1);
    }
    auto bshape = [&](const torch::Tensor &v, const torch::Tensor &like) {
      std::vector<int64_t> s(size_t(like.dim()), 1);
      s[0] = P;
      return v.view(s);
    };
    if (hp.clip_norm > 0.f) {
      auto coef = (double(hp.clip_norm) / (sq.sqrt() + 1e-6)).clamp_max(1.0).to(torch::kFloat32);
      for (auto &gi : g) gi = gi * bshape(coef, gi);
    }
    auto t1 = (psteps + 1).to(torch::kFloat64);
    auto step_size = (double(hp.lr) / (1.0 - torch::pow(double(hp.beta1), t1))).to(dev);
    auto bc2 = torch::sqrt(1.0 - torch::pow(double(hp.beta2), t1)).to(dev);
    std::vector<torch::Tensor> np, nm, nv;
    for (size_t i = 0; i < pp.size(); ++i) {
      auto m = pm[i] * hp.beta1 + g[i] * (1.0 - hp.beta1);
      auto v = pv[i] * hp.beta2 + g[i] * g[i] * (1.0 - hp.beta2);
      auto denom = v.sqrt() / bshape(bc2, v).to(torch::kFloat32) + hp.eps;
      auto p = pp[i] - bshape(step_size, m).to(torch::kFloat32) * m / denom;
      for (const auto &u : {p, m, v}) ok = ok & torch::isfinite(u.reshape({P, -1})).all(1);
      np.push_back(p), nm.push_back(m), nv.push_back(v);
    }
    for (size_t i = 0; i < pp.size(); ++i) {
      auto keep = bshape(ok, pp[i]);
      pp[i].copy_(torch::where(keep, np[i], pp[i]));
      pm[i].copy_(torch::where(keep, nm[i], pm[i]));
      pv[i].copy_(torch::where(keep, nv[i], pv[i]));
    }
    auto ok_cpu = ok.to(torch::kCPU);
    psteps += ok_cpu.to(torch::kLong);
    for (int64_t b = 0; b < P; ++b) {
      loss[b] = per_cpu[b].item<double>();
      status[b] = T[b] <= 0 || ok_cpu[b].item<bool>() ? ANBN_OK : ANBN_ERR_NUMERIC;
    }
  }

  // Inference with lane b computed by member members[b]: the members'
  // tensors gathered along the member dimension, then pop_train's forward
  // (bmm over lanes) from h0, c0, in float64 as the probe pass (long
  // capacity scans stay within §6's forward tolerance); outputs as forward's.
  void pop_forward(const int32_t *members, int64_t B, const int32_t *x, int64_t T, const float *h0, const float *c0,
                   const anbn_forward_out &out) {
    torch::NoGradGuard ng;
    auto idx = torch::from_blob(const_cast<int32_t *>(members), {B}, torch::kInt32).to(dev, torch::kLong);
    std::vector<torch::Tensor> w;
    for (const auto &t : pp) w.push_back(t.index_select(0, idx).to(torch::kFloat64));
    auto xt = torch::from_blob(const_cast<int32_t *>(x), {B, T}, torch::kInt32).to(dev, torch::kLong);
    size_t k = 0;  // canonical order, as pop_train's
    const auto &E = w[k++];
    auto in = E.gather(1, xt.unsqueeze(-1).expand({B, T, E.size(2)}));  // (B, T, E)
    auto state = [&](const float *s, int l) {
      return s ? torch::from_blob(const_cast<float *>(s) + size_t(l) * size_t(B) * H, {B, H}, torch::kFloat32)
                     .to(dev, torch::kFloat64)
               : torch::zeros({B, H}, in.options());
    };
    std::vector<torch::Tensor> Hs, Cs, Gs;
    for (int l = 0; l < L; ++l) {
      const auto &W_ih = w[k], &W_hh = w[k + 1], &b_ih = w[k + 2], &b_hh = w[k + 3];
      const torch::Tensor Pw = cell->peephole ? w[k + 4] : torch::Tensor();
      k += cell->peephole ? 5 : 4;
      auto h = state(h0, l), c = state(cell->cell_state ? c0 : nullptr, l);
      std::vector<torch::Tensor> hs, cs, gs;
      for (int64_t t = 0; t < T; ++t) {
        auto xi = torch::baddbmm(b_ih.unsqueeze(2), W_ih, in.select(1, t).unsqueeze(2)).squeeze(2);
        auto hh = torch::baddbmm(b_hh.unsqueeze(2), W_hh, h.unsqueeze(2)).squeeze(2);
        torch::Tensor g;
        std::tie(h, c, g) = step(xi, hh, h, c, Pw);
        hs.push_back(h), cs.push_back(c);
        if (out.gates && g.defined()) gs.push_back(g);
      }
      in = torch::stack(hs, 1);  // (B, T, H)
      Hs.push_back(in), Cs.push_back(torch::stack(cs, 1));
      if (!gs.empty()) Gs.push_back(torch::stack(gs, 1));
    }
    const auto &fw = w[k], &fb = w[k + 1];
    auto put = [](const torch::Tensor &t, float *dst) {  // t laid out as the output, (B, T, ...)
      auto host = t.to(torch::kCPU, torch::kFloat32).contiguous();
      std::memcpy(dst, host.data_ptr<float>(), size_t(host.numel()) * sizeof(float));
    };
    if (out.log_probs) put(torch::log_softmax(torch::baddbmm(fb.unsqueeze(1), in, fw.transpose(1, 2)), -1), out.log_probs);
    if (out.hidden) put(torch::stack(Hs, 2), out.hidden);  // (B, T, L, H)
    if (out.cell && cell->cell_state) put(torch::stack(Cs, 2), out.cell);
    if (out.gates && !Gs.empty()) put(torch::stack(Gs, 2), out.gates);
  }

  void step_pass(const torch::Tensor &xt, const torch::Tensor &h0t, const torch::Tensor &c0t, const anbn_forward_out &out) {
    const Pass P = pass(emb->forward(xt), h0t, c0t, torch::kFloat64, out.gates != nullptr);
    auto put = [&](const std::vector<torch::Tensor> &v, float *dst) {
      auto all = torch::stack(v, 2).to(torch::kCPU, torch::kFloat32).contiguous();  // (B, T, L, C)
      std::memcpy(dst, all.data_ptr<float>(), size_t(all.numel()) * sizeof(float));
    };
    if (out.hidden) put(P.h, out.hidden);
    if (out.cell) put(P.c, out.cell);
    if (out.gates && P.g[0].defined()) put(P.g, out.gates);
  }
};

Ctx *cast(anbn_backend_ctx *c) { return reinterpret_cast<Ctx *>(c); }

// c10::Error's what() carries a C++ backtrace; the message alone is enough.
struct TorchMessage {
  const char *operator()(const std::exception &e) const {
    auto *ce = dynamic_cast<const c10::Error *>(&e);
    return ce ? ce->what_without_backtrace() : e.what();
  }
};

template <class F>
anbn_status wrap(char *err, size_t len, F &&f) {
  return anbn_plugin::guard(err, len, f, TorchMessage{});
}

anbn_status check_n(const Ctx *c, size_t n, char *err, size_t len) {
  return anbn_plugin::check_count(c->total, n, err, len);
}

int cpu_available(char *, size_t) { return 1; }

int cuda_available(char *reason, size_t len) {
  try {
    if (!torch::cuda::is_available()) {
      set_err(reason, len, "no CUDA device: torch::cuda::is_available() is false (no GPU, no driver, or a CPU-only libtorch)");
      return 0;
    }
    return 1;
  } catch (const std::exception &e) {
    set_err(reason, len, std::string("CUDA unusable: ") + e.what());
    return 0;
  }
}

anbn_status create_on(torch::Device dev, const anbn_backend_desc *d, anbn_backend_ctx **out, char *err, size_t len) {
  return wrap(err, len, [&] {
    if (!d || !out || d->struct_size < sizeof(anbn_backend_desc) || !anbn_cells::find(d->cell)) {
      set_err(err, len, "bad descriptor");
      return ANBN_ERR_INVALID_ARGUMENT;
    }
    if (dev.is_cuda() && !cuda_available(err, len)) return ANBN_ERR_BACKEND_UNAVAILABLE;
    auto c = std::make_unique<Ctx>();
    c->init(*d, dev);
    *out = reinterpret_cast<anbn_backend_ctx *>(c.release());
    return ANBN_OK;
  });
}

anbn_status cpu_create(const anbn_backend_desc *d, anbn_backend_ctx **out, char *err, size_t len) {
  return create_on(torch::kCPU, d, out, err, len);
}
anbn_status cuda_create(const anbn_backend_desc *d, anbn_backend_ctx **out, char *err, size_t len) {
  return create_on(torch::Device(torch::kCUDA, 0), d, out, err, len);
}

void t_destroy(anbn_backend_ctx *c) { delete cast(c); }

anbn_status t_get_params(anbn_backend_ctx *cx, float *out, size_t n, char *err, size_t len) {
  Ctx *c = cast(cx);
  if (anbn_status s = check_n(c, n, err, len)) return s;
  return wrap(err, len, [&] { return c->copy_out(c->params, out), ANBN_OK; });
}

anbn_status t_set_params(anbn_backend_ctx *cx, const float *in, size_t n, char *err, size_t len) {
  Ctx *c = cast(cx);
  if (anbn_status s = check_n(c, n, err, len)) return s;
  return wrap(err, len, [&] { return c->copy_in(in, c->params), ANBN_OK; });
}

anbn_status t_get_adam(anbn_backend_ctx *cx, float *m, float *v, size_t n, int64_t *step, char *err, size_t len) {
  Ctx *c = cast(cx);
  if (anbn_status s = check_n(c, n, err, len)) return s;
  return wrap(err, len, [&] { return c->get_adam(m, v, step), ANBN_OK; });
}

anbn_status t_set_adam(anbn_backend_ctx *cx, const float *m, const float *v, size_t n, int64_t step, char *err,
                       size_t len) {
  Ctx *c = cast(cx);
  if (anbn_status s = check_n(c, n, err, len)) return s;
  return wrap(err, len, [&] { return c->set_adam(m, v, step), ANBN_OK; });
}

// libtorch's intra-op thread count is process-wide: it is set to the model's
// for the duration of a call and put back after, never left changed.
struct ThreadScope {
  int saved;
  explicit ThreadScope(const Ctx *c) : saved(at::get_num_threads()) {
    if (saved != c->threads) at::set_num_threads(c->threads);
  }
  ~ThreadScope() {
    if (at::get_num_threads() != saved) at::set_num_threads(saved);
  }
};

anbn_status t_train_batch(anbn_backend_ctx *cx, const int32_t *x, const int32_t *y, int32_t B, int32_t T,
                          int32_t divisor, const anbn_adam_hparams *hp, double *loss, char *err, size_t len) {
  Ctx *c = cast(cx);
  return wrap(err, len, [&] {
    ThreadScope threads(c);
    std::string why;
    anbn_status s = c->train_batch(x, y, B, T, divisor, *hp, loss, &why);
    if (s != ANBN_OK) set_err(err, len, why);
    return s;
  });
}

anbn_status t_gradients(anbn_backend_ctx *cx, const int32_t *x, const int32_t *y, int32_t B, int32_t T,
                        int32_t divisor, float *grad, size_t n, double *loss, char *err, size_t len) {
  Ctx *c = cast(cx);
  if (anbn_status s = check_n(c, n, err, len)) return s;
  return wrap(err, len, [&] {
    ThreadScope threads(c);
    c->gradients(x, y, B, T, divisor, grad, loss);
    if (!std::isfinite(*loss)) return set_err(err, len, "non-finite loss"), ANBN_ERR_NUMERIC;
    return ANBN_OK;
  });
}

anbn_status t_forward(anbn_backend_ctx *cx, const int32_t *x, int32_t B, int32_t T, const float *h0, const float *c0,
                      const anbn_forward_out *out, char *err, size_t len) {
  Ctx *c = cast(cx);
  return wrap(err, len, [&] {
    ThreadScope threads(c);
    return c->forward(x, B, T, h0, c0, *out), ANBN_OK;
  });
}

anbn_status t_pop_create_on(torch::Device dev, const anbn_backend_desc *d, int32_t members, anbn_backend_ctx **out,
                            char *err, size_t len) {
  if (members < 1) return set_err(err, len, "a population needs members"), ANBN_ERR_INVALID_ARGUMENT;
  anbn_status s = create_on(dev, d, out, err, len);
  if (s != ANBN_OK) return s;
  s = wrap(err, len, [&] { return cast(*out)->pop_init(members), ANBN_OK; });
  if (s != ANBN_OK) t_destroy(*out), *out = nullptr;
  return s;
}
anbn_status t_pop_create_cpu(const anbn_backend_desc *d, int32_t members, anbn_backend_ctx **out, char *err, size_t len) {
  return t_pop_create_on(torch::kCPU, d, members, out, err, len);
}
anbn_status t_pop_create_cuda(const anbn_backend_desc *d, int32_t members, anbn_backend_ctx **out, char *err, size_t len) {
  return t_pop_create_on(torch::Device(torch::kCUDA, 0), d, members, out, err, len);
}

anbn_status t_pop_member(anbn_backend_ctx *cx, int32_t i, float *p, float *m, float *v, size_t n, int64_t *step,
                         bool set, char *err, size_t len) {
  Ctx *c = cast(cx);
  if (i < 0 || i >= c->P) return set_err(err, len, "no such member"), ANBN_ERR_INVALID_ARGUMENT;
  if (anbn_status s = check_n(c, n, err, len)) return s;
  return wrap(err, len, [&] {
    c->pop_member(i, p, m, v, *step, set);
    if (!set) *step = c->psteps[i].item<int64_t>();
    return ANBN_OK;
  });
}
anbn_status t_pop_set(anbn_backend_ctx *cx, int32_t i, const float *p, const float *m, const float *v, size_t n,
                      int64_t step, char *err, size_t len) {
  return t_pop_member(cx, i, const_cast<float *>(p), const_cast<float *>(m), const_cast<float *>(v), n, &step, true,
                      err, len);
}
anbn_status t_pop_get(anbn_backend_ctx *cx, int32_t i, float *p, float *m, float *v, size_t n, int64_t *step,
                      char *err, size_t len) {
  return t_pop_member(cx, i, p, m, v, n, step, false, err, len);
}

anbn_status t_pop_train_step(anbn_backend_ctx *cx, const int32_t *x, const int32_t *y, int32_t Tmax, const int32_t *T,
                             const int32_t *divisor, const anbn_adam_hparams *hp, double *loss, anbn_status *status,
                             char *err, size_t len) {
  Ctx *c = cast(cx);
  return wrap(err, len, [&] {
    ThreadScope threads(c);
    c->pop_train(x, y, Tmax, T, divisor, *hp, loss, status);
    return ANBN_OK;
  });
}

anbn_status t_pop_forward(anbn_backend_ctx *cx, const int32_t *members, int32_t count, const int32_t *x, int32_t T,
                          const float *h0, const float *c0, const anbn_forward_out *out, char *err, size_t len) {
  Ctx *c = cast(cx);
  if (!members || count < 1 || T < 1 || !x || !out) return set_err(err, len, "bad member list or arguments"), ANBN_ERR_INVALID_ARGUMENT;
  for (int32_t b = 0; b < count; ++b)
    if (members[b] < 0 || members[b] >= c->P) return set_err(err, len, "no such member"), ANBN_ERR_INVALID_ARGUMENT;
  return wrap(err, len, [&] { return c->pop_forward(members, count, x, T, h0, c0, *out), ANBN_OK; });
}

const anbn_backend_iface kTorchCpu = {
    ANBN_BACKEND_ABI_VERSION, sizeof(anbn_backend_iface), "torch-cpu", cpu_available, cpu_create, t_destroy,
    t_get_params, t_set_params, t_get_adam, t_set_adam, t_train_batch, t_forward, t_gradients,
    t_pop_create_cpu, t_pop_set, t_pop_get, t_pop_train_step, t_pop_forward,
};
const anbn_backend_iface kTorchCuda = {
    ANBN_BACKEND_ABI_VERSION, sizeof(anbn_backend_iface), "torch-cuda", cuda_available, cuda_create, t_destroy,
    t_get_params, t_set_params, t_get_adam, t_set_adam, t_train_batch, t_forward, t_gradients,
    t_pop_create_cuda, t_pop_set, t_pop_get, t_pop_train_step, t_pop_forward,
};

}  // namespace

ANBN_PLUGIN_ENTRY(&kTorchCpu, &kTorchCuda)
