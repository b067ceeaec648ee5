// The oneDNN backend plugin (libanbn-onednn.so, backend "onednn").
//
// oneDNN does the heavy work: the recurrent layers with its RNN primitives
// (vanilla_rnn tanh, lstm with or without peephole weights, lbr_gru;
// forward_training + backward), the output
// layer with inner product and logsoftmax forward/backward.  The embedding
// gather/scatter, the NLL and Adam are plain loops.
//
// Storage: one flat float array in *oneDNN order* — W_ih and W_hh as ldigo
// (in, G, H) with oneDNN's gate order, everything else as in PyTorch — with
// Adam's moments in the same layout (Adam is elementwise, so layout-blind).
// get/set_params convert to and from the canonical PyTorch layout.  PyTorch's
// two biases stay two parameters; oneDNN is given their sum (GRU: b_hn rides
// in lbr_gru's extra bias row), and each gets the summed bias's gradient.
// Primitives and buffers are built once per (B, T) shape and reused.
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <unordered_map>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "anbn/backend.h"
#include "../common/plugin_util.hpp"

namespace {

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;
using std::size_t;

using anbn_plugin::set_err;

using LayerOff = anbn_plugin::Layout::Layer;  // offsets into the flat store

// Buffers shared by every shape's plan (grown to the largest seen): a plan
// holds primitives and memory objects only, bound to these before each run,
// so a cache of many shapes costs no more memory than the largest one.
// `moved` is the owning model's counter (no plugin keeps global mutable state).
struct Scratch {
  std::vector<float> f;
  std::vector<char> b;
  float *floats(size_t n, uint64_t &moved) {
    if (f.size() < n) f.assign(n, 0.f), ++moved;
    return f.data();
  }
  void *bytes(size_t n, uint64_t &moved) {
    if (b.size() < n) b.assign(n, 0), ++moved;
    return b.data();
  }
};

// Every primitive gets a user-provided scratchpad owned by the model: with
// oneDNN's default (library-owned, thread-local when built without concurrent
// execution, as Debian builds it) a cached primitive crashes when the model is
// used from another thread.  Primitives run one at a time, so one buffer per
// model serves them all.
primitive_attr user_scratchpad() {
  primitive_attr a;
  a.set_scratchpad_mode(scratchpad_mode::user);
  return a;
}

// One recurrent layer's primitives for one (B, T) shape.
struct LayerPlan {
  primitive fwd, bwd;
  memory src_layer, dst_layer, diff_src_layer, diff_dst_layer, ws;
  memory w_layer, w_iter, w_peep, bias;  // views of the store (ldigo; peephole ldgo) and the summed bias
  memory bw_layer, bw_iter;              // backward's weight layout (ldgoi), reordered each step
  memory dw_layer, dw_iter, dw_peep, dbias;  // diffs in the backward's layout (peephole: ldgo)
  memory dw_layer_user, dw_iter_user;    // diffs in ldigo
  bool reorder_w = false, reorder_dw = false;
  reorder r_wl, r_wi, r_dwl, r_dwi;
  std::unordered_map<int, memory> r_wl_args, r_wi_args, r_dwl_args, r_dwi_args;
  memory h0, c0, dh0, dc0, hT, cT;       // initial states (zeros in training), their diffs, final states
  std::unordered_map<int, memory> fwd_args, bwd_args;  // built once: no maps on the hot path
};

struct Plan {
  uint64_t bound = ~uint64_t(0);  // Ctx::generation when last bound
  std::vector<memory> pads;       // each primitive's scratchpad, bound to Ctx::pad
  std::vector<LayerPlan> layers;
  primitive ip_fwd, ip_bwd_data, ip_bwd_w, ls_fwd, ls_bwd;
  memory logits, logp, dlogp, dlogits, fcw, fcb, dfcw, dfcb, top_h, dtop_h;
  std::unordered_map<int, memory> ip_fwd_args, ls_fwd_args, ls_bwd_args, ip_bwd_data_args, ip_bwd_w_args;
};

// Per layer: activations and diffs (T, B, C), workspace, weight copies, states.
struct LayerScratch {
  Scratch src, dst, dsrc, ddst, ws, bwl, bwi, dwl, dwi, dwp, db, dwlu, dwiu, h0, c0, dh0, dc0, hT, cT;
};

struct Ctx {
  anbn_backend_desc d{};
  const anbn_cells::Def *cell = nullptr;
  int G = 1, GB = 1, H = 0, O = 0, V = 0, E = 0, L = 0;  // GB: oneDNN bias rows (lbr_gru: 4)
  int perm[4] = {0, 1, 2, 3};                              // oneDNN gate -> PyTorch gate
  engine eng{engine::kind::cpu, 0};
  stream strm{eng};
  std::vector<float> p, m, v, grad;  // flat store (oneDNN order), Adam moments, gradient
  std::vector<float> nm, nv, np;     // Adam's next values
  int64_t step = 0;
  size_t emb = 0, fcw = 0, fcb = 0, total = 0;
  std::vector<LayerOff> off;
  std::vector<std::vector<float>> bias_sum;  // per layer (GB, H)
  std::vector<LayerScratch> scratch;
  Scratch logits, logp, dlogp, dlogits, dfcw, dfcb, pad;
  uint64_t generation = 0;  // bumped whenever a Scratch buffer moves
  std::map<std::pair<int, int>, std::unique_ptr<Plan>> train_plans, infer_plans;
  // Plans are cached per shape; a scan over many lengths (capacity to n = 1000)
  // must not grow without bound, so a full cache starts over.
  static constexpr size_t kMaxPlans = 256;

  void init(const anbn_backend_desc &desc) {
    d = desc;
    cell = anbn_cells::find(d.cell);
    G = cell->gates;
    GB = d.cell == ANBN_CELL_GRU ? 4 : G;
    if (d.cell == ANBN_CELL_GRU) perm[0] = 1, perm[1] = 0;  // oneDNN u, r, o = PyTorch z, r, n
    H = d.hidden, O = d.output, V = d.vocab, E = d.embed, L = d.layers;
    const anbn_plugin::Layout lay(d, *cell);
    emb = lay.emb, fcw = lay.fcw, fcb = lay.fcb, total = lay.total, off = lay.layers;
    const size_t o = total;
    p.assign(o, 0.f), m.assign(o, 0.f), v.assign(o, 0.f), grad.assign(o, 0.f);
    bias_sum.assign(L, std::vector<float>(size_t(GB) * H, 0.f));
    scratch.resize(L);
  }

  // PyTorch W (G*H, in) <-> ldigo (in, G, H) with oneDNN's gate order.
  void to_dnnl(const float *src, float *dst, int in) const {
    for (int i = 0; i < in; ++i)
      for (int g = 0; g < G; ++g)
        for (int h = 0; h < H; ++h) dst[(size_t(i) * G + g) * H + h] = src[(size_t(perm[g]) * H + h) * in + i];
  }
  void from_dnnl(const float *src, float *dst, int in) const {
    for (int i = 0; i < in; ++i)
      for (int g = 0; g < G; ++g)
        for (int h = 0; h < H; ++h) dst[(size_t(perm[g]) * H + h) * in + i] = src[(size_t(i) * G + g) * H + h];
  }

  void convert(const float *src, float *dst, bool to) const {
    std::memcpy(dst, src, total * sizeof(float));  // everything but the recurrent weights is as is
    for (const LayerOff &lo : off) {
      if (to) to_dnnl(src + lo.wih, dst + lo.wih, lo.in), to_dnnl(src + lo.whh, dst + lo.whh, H);
      else from_dnnl(src + lo.wih, dst + lo.wih, lo.in), from_dnnl(src + lo.whh, dst + lo.whh, H);
    }
  }

  void sum_biases() {
    for (int l = 0; l < L; ++l) {
      const float *bi = &p[off[l].bih], *bh = &p[off[l].bhh];
      float *s = bias_sum[l].data();
      for (int g = 0; g < G; ++g)
        for (int h = 0; h < H; ++h) {
          const int tg = perm[g];
          s[g * H + h] = (d.cell == ANBN_CELL_GRU && tg == 2) ? bi[tg * H + h] : bi[tg * H + h] + bh[tg * H + h];
        }
      if (d.cell == ANBN_CELL_GRU)
        for (int h = 0; h < H; ++h) s[3 * H + h] = bh[2 * H + h];  // lbr_gru's extra row: b_hn
    }
  }

  // ---------------------------------------------------------------- plans

  memory::desc md(memory::dims dims, tag t) const { return memory::desc(dims, dt::f32, t); }
  memory unbound(const memory::desc &m) const { return memory(m, eng, DNNL_MEMORY_NONE); }

  // Forward and backward primitives of one layer; `train` adds the backward.
  // An argument map's scratchpad, from the primitive's own descriptor.
  static void add_pad(Plan &P, std::unordered_map<int, memory> &args, const memory::desc &pad_md, const engine &eng) {
    P.pads.push_back(memory(pad_md, eng, DNNL_MEMORY_NONE));
    args[DNNL_ARG_SCRATCHPAD] = P.pads.back();
  }

  void build_layer(Plan &P, LayerPlan &lp, int l, int B, int T, bool train) {
    const primitive_attr attr = user_scratchpad();
    memory::desc fpad, bpad;
    const auto dir = rnn_direction::unidirectional_left2right;
    const memory::desc none;
    const int in = off[l].in;
    const auto src = md({T, B, in}, tag::tnc), dst = md({T, B, H}, tag::tnc), it = md({1, 1, B, H}, tag::ldnc);
    const auto wl = md({1, 1, in, G, H}, tag::ldigo), wi = md({1, 1, H, G, H}, tag::ldigo);
    const auto b = md({1, 1, GB, H}, tag::ldgo);
    // The peephole weights (1, 1, 3, H) rows i, f, o: oneDNN's order and the
    // canonical one, so the store's own floats; a zero descriptor: no peephole.
    const auto wp = cell->peephole ? md({1, 1, cell->peephole, H}, tag::ldgo) : memory::desc();
    const auto wl_any = memory::desc({1, 1, in, G, H}, dt::f32, tag::any);
    const auto wi_any = memory::desc({1, 1, H, G, H}, dt::f32, tag::any);
    const bool lstm = cell->gates == 4;  // lstm and peephole
    const prop_kind pk = train ? prop_kind::forward_training : prop_kind::forward_inference;
    // Initial states are always given explicitly (zeros in training): oneDNN
    // 2.6's backward reads h_{-1} from src_iter, and garbage there corrupts dW_hh.
    // Final states only in inference (stepping needs them).
    const memory::desc out_it = train ? none : it;
    lp.src_layer = unbound(src), lp.dst_layer = unbound(dst);
    lp.h0 = unbound(it), lp.c0 = unbound(it), lp.hT = unbound(it), lp.cT = unbound(it);
    lp.w_layer = memory(wl, eng, &p[off[l].wih]);
    lp.w_iter = memory(wi, eng, &p[off[l].whh]);
    lp.bias = memory(b, eng, bias_sum[l].data());
    if (cell->peephole) lp.w_peep = memory(wp, eng, &p[off[l].pp]);
    memory::desc bwl, bwi, dwl, dwi, dbd, wsd;
    if (lstm) {
      lstm_forward::primitive_desc fpd(
          lstm_forward::desc(pk, dir, src, it, it, wl, wi, wp, b, dst, out_it, out_it), attr, eng);
      lp.fwd = lstm_forward(fpd);
      wsd = fpd.workspace_desc(), fpad = fpd.scratchpad_desc();
      if (train) {
        lstm_backward::primitive_desc bpd(
            lstm_backward::desc(prop_kind::backward, dir, src, it, it, wl_any, wi_any, wp, b, dst, none, none, src, it,
                                it, wl_any, wi_any, wp, b, dst, none, none),
            attr, eng, fpd);
        lp.bwd = lstm_backward(bpd);
        bpad = bpd.scratchpad_desc();
        bwl = bpd.weights_layer_desc(), bwi = bpd.weights_iter_desc();
        dwl = bpd.diff_weights_layer_desc(), dwi = bpd.diff_weights_iter_desc(), dbd = bpd.diff_bias_desc();
      }
    } else if (d.cell == ANBN_CELL_GRU) {
      lbr_gru_forward::primitive_desc fpd(lbr_gru_forward::desc(pk, dir, src, it, wl, wi, b, dst, out_it), attr, eng);
      lp.fwd = lbr_gru_forward(fpd);
      wsd = fpd.workspace_desc(), fpad = fpd.scratchpad_desc();
      if (train) {
        lbr_gru_backward::primitive_desc bpd(
            lbr_gru_backward::desc(prop_kind::backward, dir, src, it, wl_any, wi_any, b, dst, none, src, it, wl_any,
                                   wi_any, b, dst, none),
            attr, eng, fpd);
        lp.bwd = lbr_gru_backward(bpd);
        bpad = bpd.scratchpad_desc();
        bwl = bpd.weights_layer_desc(), bwi = bpd.weights_iter_desc();
        dwl = bpd.diff_weights_layer_desc(), dwi = bpd.diff_weights_iter_desc(), dbd = bpd.diff_bias_desc();
      }
    } else {
      vanilla_rnn_forward::primitive_desc fpd(
          vanilla_rnn_forward::desc(pk, algorithm::eltwise_tanh, dir, src, it, wl, wi, b, dst, out_it), attr, eng);
      lp.fwd = vanilla_rnn_forward(fpd);
      wsd = fpd.workspace_desc(), fpad = fpd.scratchpad_desc();
      if (train) {
        vanilla_rnn_backward::primitive_desc bpd(
            vanilla_rnn_backward::desc(prop_kind::backward, algorithm::eltwise_tanh, dir, src, it, wl_any, wi_any, b,
                                       dst, none, src, it, wl_any, wi_any, b, dst, none),
            attr, eng, fpd);
        lp.bwd = vanilla_rnn_backward(bpd);
        bpad = bpd.scratchpad_desc();
        bwl = bpd.weights_layer_desc(), bwi = bpd.weights_iter_desc();
        dwl = bpd.diff_weights_layer_desc(), dwi = bpd.diff_weights_iter_desc(), dbd = bpd.diff_bias_desc();
      }
    }
    lp.fwd_args = {{DNNL_ARG_SRC_LAYER, lp.src_layer}, {DNNL_ARG_SRC_ITER, lp.h0},
                   {DNNL_ARG_WEIGHTS_LAYER, lp.w_layer}, {DNNL_ARG_WEIGHTS_ITER, lp.w_iter},
                   {DNNL_ARG_BIAS, lp.bias},           {DNNL_ARG_DST_LAYER, lp.dst_layer}};
    if (lstm) lp.fwd_args[DNNL_ARG_SRC_ITER_C] = lp.c0;
    if (cell->peephole) lp.fwd_args[DNNL_ARG_WEIGHTS_PEEPHOLE] = lp.w_peep;
    add_pad(P, lp.fwd_args, fpad, eng);
    if (!train) {
      lp.fwd_args[DNNL_ARG_DST_ITER] = lp.hT;
      if (lstm) lp.fwd_args[DNNL_ARG_DST_ITER_C] = lp.cT;
      return;
    }
    lp.ws = unbound(wsd);
    lp.fwd_args[DNNL_ARG_WORKSPACE] = lp.ws;
    lp.diff_src_layer = unbound(src), lp.diff_dst_layer = unbound(dst);
    lp.dh0 = unbound(it), lp.dc0 = unbound(it);
    lp.reorder_w = bwl != wl || bwi != wi;
    lp.bw_layer = lp.reorder_w ? unbound(bwl) : lp.w_layer;
    lp.bw_iter = lp.reorder_w ? unbound(bwi) : lp.w_iter;
    if (lp.reorder_w) {
      lp.r_wl = make_reorder(P, lp.r_wl_args, lp.w_layer, lp.bw_layer);
      lp.r_wi = make_reorder(P, lp.r_wi_args, lp.w_iter, lp.bw_iter);
    }
    lp.dw_layer = unbound(dwl), lp.dw_iter = unbound(dwi), lp.dbias = unbound(dbd);
    lp.reorder_dw = dwl != wl || dwi != wi;
    lp.dw_layer_user = lp.reorder_dw ? unbound(wl) : lp.dw_layer;
    lp.dw_iter_user = lp.reorder_dw ? unbound(wi) : lp.dw_iter;
    if (lp.reorder_dw) {
      lp.r_dwl = make_reorder(P, lp.r_dwl_args, lp.dw_layer, lp.dw_layer_user);
      lp.r_dwi = make_reorder(P, lp.r_dwi_args, lp.dw_iter, lp.dw_iter_user);
    }
    lp.bwd_args = {{DNNL_ARG_SRC_LAYER, lp.src_layer},           {DNNL_ARG_SRC_ITER, lp.h0},
                   {DNNL_ARG_WEIGHTS_LAYER, lp.bw_layer},        {DNNL_ARG_WEIGHTS_ITER, lp.bw_iter},
                   {DNNL_ARG_BIAS, lp.bias},                     {DNNL_ARG_DST_LAYER, lp.dst_layer},
                   {DNNL_ARG_DIFF_DST_LAYER, lp.diff_dst_layer}, {DNNL_ARG_WORKSPACE, lp.ws},
                   {DNNL_ARG_DIFF_SRC_LAYER, lp.diff_src_layer}, {DNNL_ARG_DIFF_SRC_ITER, lp.dh0},
                   {DNNL_ARG_DIFF_WEIGHTS_LAYER, lp.dw_layer},   {DNNL_ARG_DIFF_WEIGHTS_ITER, lp.dw_iter},
                   {DNNL_ARG_DIFF_BIAS, lp.dbias}};
    if (lstm) lp.bwd_args[DNNL_ARG_SRC_ITER_C] = lp.c0, lp.bwd_args[DNNL_ARG_DIFF_SRC_ITER_C] = lp.dc0;
    if (cell->peephole) {
      lp.dw_peep = unbound(wp);
      lp.bwd_args[DNNL_ARG_WEIGHTS_PEEPHOLE] = lp.w_peep, lp.bwd_args[DNNL_ARG_DIFF_WEIGHTS_PEEPHOLE] = lp.dw_peep;
    }
    add_pad(P, lp.bwd_args, bpad, eng);
  }

  // A reorder between two of the plan's memories, with its own scratchpad.
  reorder make_reorder(Plan &P, std::unordered_map<int, memory> &args, const memory &from, const memory &to) {
    reorder::primitive_desc pd(eng, from.get_desc(), eng, to.get_desc(), user_scratchpad());
    args = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    add_pad(P, args, pd.scratchpad_desc(), eng);
    return reorder(pd);
  }

  void bind(memory &mem, Scratch &s) {
    if (mem) mem.set_data_handle(s.bytes(mem.get_desc().get_size(), generation));
  }
  float *fbind(memory &mem, Scratch &s) {
    float *f = s.floats(mem.get_desc().get_size() / sizeof(float), generation);
    mem.set_data_handle(f);
    return f;
  }

  // Points every shape-dependent memory of a plan at the shared buffers
  // (again only if some buffer has moved since): binding grows the buffers,
  // so it repeats until nothing moves.
  void bind_plan(Plan &P, bool train) {
    while (P.bound != generation) {
      const uint64_t before = generation;
      bind_once(P, train);
      if (generation == before) P.bound = before;
    }
  }

  void bind_once(Plan &P, bool train) {
    for (memory &m : P.pads) bind(m, pad);
    for (int l = 0; l < L; ++l) {
      LayerPlan &lp = P.layers[l];
      LayerScratch &s = scratch[l];
      fbind(lp.src_layer, s.src), fbind(lp.dst_layer, s.dst);
      fbind(lp.h0, s.h0), fbind(lp.c0, s.c0), fbind(lp.hT, s.hT), fbind(lp.cT, s.cT);
      if (!train) continue;
      fbind(lp.diff_src_layer, s.dsrc), fbind(lp.diff_dst_layer, s.ddst);
      fbind(lp.dh0, s.dh0), fbind(lp.dc0, s.dc0);
      bind(lp.ws, s.ws);
      if (lp.reorder_w) bind(lp.bw_layer, s.bwl), bind(lp.bw_iter, s.bwi);
      bind(lp.dw_layer, s.dwl), bind(lp.dw_iter, s.dwi), bind(lp.dbias, s.db), bind(lp.dw_peep, s.dwp);
      if (lp.reorder_dw) bind(lp.dw_layer_user, s.dwlu), bind(lp.dw_iter_user, s.dwiu);
    }
    fbind(P.top_h, scratch[L - 1].dst);
    fbind(P.logits, logits), fbind(P.logp, logp);
    if (!train) return;
    fbind(P.dtop_h, scratch[L - 1].ddst);
    fbind(P.dlogp, dlogp), fbind(P.dlogits, dlogits), fbind(P.dfcw, dfcw), fbind(P.dfcb, dfcb);
  }

  // Inner product + logsoftmax over the top layer's (T*B, H).
  void build_output(Plan &P, int N, bool train) {
    const prop_kind pk = train ? prop_kind::forward_training : prop_kind::forward_inference;
    const auto hmd = md({N, H}, tag::nc), omd = md({N, O}, tag::nc);
    const auto wmd = md({O, H}, tag::oi), bmd = md({O}, tag::x);
    P.top_h = unbound(hmd), P.logits = unbound(omd), P.logp = unbound(omd);
    P.fcw = memory(wmd, eng, &p[fcw]);
    P.fcb = memory(bmd, eng, &p[fcb]);
    const primitive_attr attr = user_scratchpad();
    inner_product_forward::primitive_desc ipd(inner_product_forward::desc(pk, hmd, wmd, bmd, omd), attr, eng);
    logsoftmax_forward::primitive_desc lpd(logsoftmax_forward::desc(pk, omd, 1), attr, eng);
    P.ip_fwd = inner_product_forward(ipd), P.ls_fwd = logsoftmax_forward(lpd);
    P.ip_fwd_args = {{DNNL_ARG_SRC, P.top_h}, {DNNL_ARG_WEIGHTS, P.fcw}, {DNNL_ARG_BIAS, P.fcb}, {DNNL_ARG_DST, P.logits}};
    P.ls_fwd_args = {{DNNL_ARG_SRC, P.logits}, {DNNL_ARG_DST, P.logp}};
    add_pad(P, P.ip_fwd_args, ipd.scratchpad_desc(), eng);
    add_pad(P, P.ls_fwd_args, lpd.scratchpad_desc(), eng);
    if (!train) return;
    P.dlogp = unbound(omd), P.dlogits = unbound(omd), P.dfcw = unbound(wmd), P.dfcb = unbound(bmd);
    P.dtop_h = unbound(hmd);
    logsoftmax_backward::primitive_desc lbpd(logsoftmax_backward::desc(omd, omd, 1), attr, eng, lpd);
    inner_product_backward_data::primitive_desc idpd(inner_product_backward_data::desc(hmd, wmd, omd), attr, eng, ipd);
    inner_product_backward_weights::primitive_desc iwpd(inner_product_backward_weights::desc(hmd, wmd, bmd, omd), attr,
                                                        eng, ipd);
    P.ls_bwd = logsoftmax_backward(lbpd);
    P.ip_bwd_data = inner_product_backward_data(idpd);
    P.ip_bwd_w = inner_product_backward_weights(iwpd);
    P.ls_bwd_args = {{DNNL_ARG_DST, P.logp}, {DNNL_ARG_DIFF_DST, P.dlogp}, {DNNL_ARG_DIFF_SRC, P.dlogits}};
    P.ip_bwd_data_args = {{DNNL_ARG_DIFF_DST, P.dlogits}, {DNNL_ARG_WEIGHTS, P.fcw}, {DNNL_ARG_DIFF_SRC, P.dtop_h}};
    P.ip_bwd_w_args = {{DNNL_ARG_SRC, P.top_h}, {DNNL_ARG_DIFF_DST, P.dlogits}, {DNNL_ARG_DIFF_WEIGHTS, P.dfcw},
                       {DNNL_ARG_DIFF_BIAS, P.dfcb}};
    add_pad(P, P.ls_bwd_args, lbpd.scratchpad_desc(), eng);
    add_pad(P, P.ip_bwd_data_args, idpd.scratchpad_desc(), eng);
    add_pad(P, P.ip_bwd_w_args, iwpd.scratchpad_desc(), eng);
  }

  Plan &plan(int B, int T, bool train) {
    auto &cache = train ? train_plans : infer_plans;
    if (cache.size() >= kMaxPlans && !cache.count({B, T})) cache.clear();
    auto &slot = cache[{B, T}];
    if (!slot) {
      auto P = std::make_unique<Plan>();
      P->layers.resize(L);
      for (int l = 0; l < L; ++l) build_layer(*P, P->layers[l], l, B, T, train);
      build_output(*P, T * B, train);
      slot = std::move(P);
    }
    bind_plan(*slot, train);
    return *slot;
  }

  // ------------------------------------------------------------- compute

  // Embedding rows into layer 0's (T, B, E) input.
  void gather(const int32_t *x, int B, int T, float *dst) const {
    for (int t = 0; t < T; ++t)
      for (int b = 0; b < B; ++b)
        std::memcpy(dst + (size_t(t) * B + b) * E, &p[emb + size_t(x[size_t(b) * T + t]) * E], sizeof(float) * E);
  }

  float *data(const memory &mem) const { return static_cast<float *>(mem.get_data_handle()); }

  void set_states(LayerPlan &lp, int l, int B, const float *h0, const float *c0) {
    const size_t n = size_t(B) * H;
    float *h = data(lp.h0), *c = data(lp.c0);
    if (h0) std::memcpy(h, h0 + l * n, n * sizeof(float));
    else std::fill(h, h + n, 0.f);
    if (c0) std::memcpy(c, c0 + l * n, n * sizeof(float));
    else std::fill(c, c + n, 0.f);
  }

  // Runs the layers and the output layer forward; leaves log-probs in P.logp.
  void run_forward(Plan &P, const int32_t *x, int B, int T, const float *h0, const float *c0) {
    sum_biases();
    gather(x, B, T, data(P.layers[0].src_layer));
    for (int l = 0; l < L; ++l) {
      LayerPlan &lp = P.layers[l];
      if (l > 0) std::memcpy(data(lp.src_layer), data(P.layers[l - 1].dst_layer), size_t(T) * B * H * sizeof(float));
      set_states(lp, l, B, h0, c0);
      lp.fwd.execute(strm, lp.fwd_args);
    }
    P.ip_fwd.execute(strm, P.ip_fwd_args);
    P.ls_fwd.execute(strm, P.ls_fwd_args);
    strm.wait();
  }

  // Forward, backward into grad; returns the loss (non-finite: grad is not filled).
  double loss_and_grad(const int32_t *x, const int32_t *y, int B, int T, int divisor) {
    Plan &P = plan(B, T, true);
    run_forward(P, x, B, T, nullptr, nullptr);
    // NLL: rows are (t, b); loss = mean_b sum_t -logp / divisor.
    const double scale = 1.0 / (double(divisor) * B);
    const float *lp_ = data(P.logp);
    float *dl = data(P.dlogp);
    std::fill(dl, dl + size_t(T) * B * O, 0.f);
    double nll = 0.0;
    for (int t = 0; t < T; ++t)
      for (int b = 0; b < B; ++b) {
        const size_t row = size_t(t) * B + b;
        const int32_t target = y[size_t(b) * T + t];
        nll -= lp_[row * O + target];
        dl[row * O + target] = float(-scale);
      }
    const double loss = nll * scale;
    if (!std::isfinite(loss)) return loss;
    std::fill(grad.begin(), grad.end(), 0.f);
    P.ls_bwd.execute(strm, P.ls_bwd_args);
    P.ip_bwd_data.execute(strm, P.ip_bwd_data_args);
    P.ip_bwd_w.execute(strm, P.ip_bwd_w_args);
    for (int l = L - 1; l >= 0; --l) {
      LayerPlan &lp = P.layers[l];
      if (l < L - 1) {
        strm.wait();
        std::memcpy(data(lp.diff_dst_layer), data(P.layers[l + 1].diff_src_layer), size_t(T) * B * H * sizeof(float));
      }
      if (lp.reorder_w) {
        lp.r_wl.execute(strm, lp.r_wl_args);
        lp.r_wi.execute(strm, lp.r_wi_args);
      }
      for (memory *mem : {&lp.dw_layer, &lp.dw_iter, &lp.dbias, &lp.dw_peep})  // zero, whether it accumulates or not
        if (*mem) std::memset(mem->get_data_handle(), 0, mem->get_desc().get_size());
      lp.bwd.execute(strm, lp.bwd_args);
      if (lp.reorder_dw) {
        lp.r_dwl.execute(strm, lp.r_dwl_args);
        lp.r_dwi.execute(strm, lp.r_dwi_args);
      }
      strm.wait();
      const LayerOff &lo = off[l];
      std::memcpy(&grad[lo.wih], lp.dw_layer_user.get_data_handle(), size_t(G) * H * lo.in * sizeof(float));
      std::memcpy(&grad[lo.whh], lp.dw_iter_user.get_data_handle(), size_t(G) * H * H * sizeof(float));
      if (cell->peephole) std::memcpy(&grad[lo.pp], data(lp.dw_peep), size_t(cell->peephole) * H * sizeof(float));
      const float *db = data(lp.dbias);
      for (int g = 0; g < G; ++g)
        for (int h = 0; h < H; ++h) {
          const int tg = perm[g];
          grad[lo.bih + size_t(tg) * H + h] = db[g * H + h];
          grad[lo.bhh + size_t(tg) * H + h] = (d.cell == ANBN_CELL_GRU && tg == 2) ? db[3 * H + h] : db[g * H + h];
        }
    }
    strm.wait();
    std::memcpy(&grad[fcw], data(P.dfcw), size_t(O) * H * sizeof(float));
    std::memcpy(&grad[fcb], data(P.dfcb), size_t(O) * sizeof(float));
    const float *dx = data(P.layers[0].diff_src_layer);  // scatter into the embedding rows
    for (int t = 0; t < T; ++t)
      for (int b = 0; b < B; ++b) {
        float *row = &grad[emb + size_t(x[size_t(b) * T + t]) * E];
        const float *src = dx + (size_t(t) * B + b) * E;
        for (int k = 0; k < E; ++k) row[k] += src[k];
      }
    return loss;
  }

  // The kit's update, as the reference's (in place: the primitives' memories point at p).
  bool adam(const anbn_adam_hparams &hp) { return anbn_plugin::adam_step(p, m, v, grad, step, hp, nm, nv, np); }

  void forward(const int32_t *x, int B, int T, const float *h0, const float *c0, const anbn_forward_out &out) {
    Plan &P = plan(B, T, false);
    run_forward(P, x, B, T, h0, c0);
    const float *lp_ = data(P.logp);
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < T; ++t) {
        const size_t bt = size_t(b) * T + t, row = size_t(t) * B + b;
        if (out.log_probs) std::memcpy(out.log_probs + bt * O, lp_ + row * O, sizeof(float) * O);
        if (out.hidden)
          for (int l = 0; l < L; ++l)
            std::memcpy(out.hidden + (bt * L + l) * H, data(P.layers[l].dst_layer) + row * H, sizeof(float) * H);
      }
    if (out.cell || out.gates) cell_and_gates(P, B, T, h0, c0, out);
  }

  // Cell states and gates: oneDNN does not expose them, so the cell's own
  // step (cell.hpp) over the same weights, the B sequences as lanes, fed the
  // primitive's inputs and its h_{t-1}.
  struct StdMath {
    static double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
    static double tanh(double x) { return std::tanh(x); }
  };
  void cell_and_gates(Plan &P, int B, int T, const float *h0, const float *c0, const anbn_forward_out &out) {
    const int GH = G * H;
    const size_t nb = size_t(B), HB = size_t(H) * nb;
    std::vector<double> ai(GH * nb), ah(GH * nb), hp(HB), h(HB), c(HB), act(GH * nb), aux(HB);  // (rows, B)
    for (int l = 0; l < L; ++l) {
      const LayerOff &lo = off[l];
      const float *X = data(P.layers[l].src_layer), *Hs = data(P.layers[l].dst_layer);  // (T, B, in), (T, B, H)
      auto state0 = [&](const float *s, size_t j, size_t b) { return s ? double(s[(size_t(l) * nb + b) * H + j]) : 0.0; };
      for (size_t j = 0; j < size_t(H); ++j)
        for (size_t b = 0; b < nb; ++b) c[j * nb + b] = state0(c0, j, b);
      for (int t = 0; t < T; ++t) {
        for (size_t j = 0; j < size_t(H); ++j)
          for (size_t b = 0; b < nb; ++b) hp[j * nb + b] = t ? Hs[((size_t(t) - 1) * nb + b) * H + j] : state0(h0, j, b);
        for (int g = 0; g < G; ++g)  // oneDNN gate g is PyTorch's perm[g] (GRU: r and z swap)
          for (int k = 0; k < H; ++k) {
            const size_t row = size_t(perm[g]) * H + k;
            for (size_t b = 0; b < nb; ++b) {
              const float *xt = X + (size_t(t) * nb + b) * lo.in;
              double si = p[lo.bih + row], sh = p[lo.bhh + row];
              for (int i = 0; i < lo.in; ++i) si += double(p[lo.wih + (size_t(i) * G + g) * H + k]) * xt[i];
              for (int i = 0; i < H; ++i) sh += double(p[lo.whh + (size_t(i) * G + g) * H + k]) * hp[i * nb + b];
              ai[row * nb + b] = si, ah[row * nb + b] = sh;
            }
          }
        anbn_cells::step_forward<StdMath>(*cell, H, nb, ai.data(), ah.data(), &p[lo.pp], 1, 0, hp.data(), c.data(), h.data(),
                                          c.data(), act.data(), aux.data());
        for (size_t b = 0; b < nb; ++b) {
          const size_t at = (b * T + size_t(t)) * L + size_t(l);
          for (int k = 0; k < H && out.cell; ++k) out.cell[at * H + k] = float(c[k * nb + b]);
          for (int g = 0; g < GH && out.gates; ++g) out.gates[at * GH + g] = float(act[g * nb + b]);
        }
      }
    }
  }
};

Ctx *cast(anbn_backend_ctx *c) { return reinterpret_cast<Ctx *>(c); }

// The model's thread count for the duration of one call, on the calling
// thread only (OpenMP's nthreads-var is per thread): nothing process-wide.
struct ThreadScope {
  int saved;
  explicit ThreadScope(const Ctx *c) : saved(omp_get_max_threads()) { omp_set_num_threads(c->d.threads > 0 ? c->d.threads : 1); }
  ~ThreadScope() { omp_set_num_threads(saved); }
};

template <class F>
anbn_status wrap(char *err, size_t len, F &&f) {
  return anbn_plugin::guard(err, len, f);  // dnnl::error is a std::exception
}

anbn_status check_n(const Ctx *c, size_t n, char *err, size_t len) {
  return anbn_plugin::check_count(c->total, n, err, len);
}

anbn_status od_create(const anbn_backend_desc *d, anbn_backend_ctx **out, char *err, size_t len) {
  return wrap(err, len, [&] {
    if (!d || !out || d->struct_size < sizeof(anbn_backend_desc) || !anbn_cells::find(d->cell)) {
      set_err(err, len, "bad descriptor");
      return ANBN_ERR_INVALID_ARGUMENT;
    }
    auto c = std::make_unique<Ctx>();
    c->init(*d);
    *out = reinterpret_cast<anbn_backend_ctx *>(c.release());
    return ANBN_OK;
  });
}

void od_destroy(anbn_backend_ctx *c) { delete cast(c); }

anbn_status od_get_params(anbn_backend_ctx *cx, float *out, size_t n, char *err, size_t len) {
  Ctx *c = cast(cx);
  if (anbn_status s = check_n(c, n, err, len)) return s;
  c->convert(c->p.data(), out, false);
  return ANBN_OK;
}

anbn_status od_set_params(anbn_backend_ctx *cx, const float *in, size_t n, char *err, size_t len) {
  Ctx *c = cast(cx);
  if (anbn_status s = check_n(c, n, err, len)) return s;
  c->convert(in, c->p.data(), true);
  return ANBN_OK;
}

anbn_status od_get_adam(anbn_backend_ctx *cx, float *m, float *v, size_t n, int64_t *step, char *err, size_t len) {
  Ctx *c = cast(cx);
  if (anbn_status s = check_n(c, n, err, len)) return s;
  c->convert(c->m.data(), m, false);
  c->convert(c->v.data(), v, false);
  *step = c->step;
  return ANBN_OK;
}

anbn_status od_set_adam(anbn_backend_ctx *cx, const float *m, const float *v, size_t n, int64_t step, char *err,
                        size_t len) {
  Ctx *c = cast(cx);
  if (anbn_status s = check_n(c, n, err, len)) return s;
  c->convert(m, c->m.data(), true);
  c->convert(v, c->v.data(), true);
  c->step = step;
  return ANBN_OK;
}

bool all_finite(const std::vector<float> &g) {
  for (float x : g)
    if (!std::isfinite(x)) return false;
  return true;
}

anbn_status od_train_batch(anbn_backend_ctx *cx, const int32_t *x, const int32_t *y, int32_t B, int32_t T,
                           int32_t divisor, const anbn_adam_hparams *hp, double *loss, char *err, size_t len) {
  Ctx *c = cast(cx);
  return wrap(err, len, [&] {
    ThreadScope threads(c);
    *loss = c->loss_and_grad(x, y, B, T, divisor);
    if (!std::isfinite(*loss) || !all_finite(c->grad)) {
      set_err(err, len, "non-finite loss or gradient; nothing was updated");
      return ANBN_ERR_NUMERIC;
    }
    if (!c->adam(*hp)) {
      set_err(err, len, "the Adam update would make a parameter non-finite (learning rate too large?); nothing was updated");
      return ANBN_ERR_NUMERIC;
    }
    return ANBN_OK;
  });
}

anbn_status od_gradients(anbn_backend_ctx *cx, const int32_t *x, const int32_t *y, int32_t B, int32_t T,
                         int32_t divisor, float *grad, size_t n, double *loss, char *err, size_t len) {
  Ctx *c = cast(cx);
  if (anbn_status s = check_n(c, n, err, len)) return s;
  return wrap(err, len, [&] {
    ThreadScope threads(c);
    *loss = c->loss_and_grad(x, y, B, T, divisor);
    if (!std::isfinite(*loss)) {  // grad was not filled: never hand back a stale one
      set_err(err, len, "non-finite loss; no gradient");
      return ANBN_ERR_NUMERIC;
    }
    c->convert(c->grad.data(), grad, false);
    return ANBN_OK;
  });
}

anbn_status od_forward(anbn_backend_ctx *cx, const int32_t *x, int32_t B, int32_t T, const float *h0, const float *c0,
                       const anbn_forward_out *out, char *err, size_t len) {
  Ctx *c = cast(cx);
  return wrap(err, len, [&] {
    ThreadScope threads(c);
    c->forward(x, B, T, h0, c0, *out);
    return ANBN_OK;
  });
}

const anbn_backend_iface kOneDNN = {
    ANBN_BACKEND_ABI_VERSION, sizeof(anbn_backend_iface), "onednn",
    nullptr,  // available wherever libdnnl loads
    od_create, od_destroy, od_get_params, od_set_params, od_get_adam, od_set_adam,
    od_train_batch, od_forward, od_gradients,
    nullptr, nullptr, nullptr, nullptr,  // no population method: its primitives share weights across a batch
    nullptr,
};
static_assert(sizeof(kOneDNN) == sizeof(anbn_backend_iface), "table layout");

}  // namespace

ANBN_PLUGIN_ENTRY(&kOneDNN)
