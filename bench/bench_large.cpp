// The larger configuration, where the kernels matter: H = 256, 2 layers,
// n from 1 to 50, bucketed batches of 64, one thread.  Prints sequence-steps
// per second and GFLOP/s of training for each backend, against this
// machine's single-core FP32 matrix-multiply rate measured in the same run
// (a oneDNN matmul).
//
//   bench_large [--cell lstm] [--hidden 256] [--layers 2] [--batch 64] [--max-n 50]
//               [--backends ref,onednn] [--sequences 3200] [--ref-sequences 128] [--json]
#include <anbn/anbn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#ifdef ANBN_BENCH_DNNL
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#endif
#include <vector>

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Single-core FP32 GEMM rate: median of repeated M = N = K = 512 oneDNN matmuls
// (0 where this was built without oneDNN).
double matmul_gflops() {
#ifndef ANBN_BENCH_DNNL
  return 0.0;
#else
  using namespace dnnl;
  omp_set_num_threads(1);
  const memory::dim M = 512, N = 512, K = 512;
  engine eng(engine::kind::cpu, 0);
  stream s(eng);
  memory::desc a({M, K}, memory::data_type::f32, memory::format_tag::ab);
  memory::desc b({K, N}, memory::data_type::f32, memory::format_tag::ab);
  memory::desc c({M, N}, memory::data_type::f32, memory::format_tag::ab);
  matmul mm(matmul::primitive_desc(matmul::desc(a, b, c), eng));
  std::vector<float> A(M * K, 0.5f), B(K * N, 0.25f), C(M * N);
  memory ma(a, eng, A.data()), mb(b, eng, B.data()), mc(c, eng, C.data());
  std::vector<double> rates;
  for (int r = 0; r < 25; ++r) {
    const double t0 = now();
    mm.execute(s, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}});
    s.wait();
    rates.push_back(2.0 * M * N * K / (now() - t0) / 1e9);
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
#endif
}

#define CHECK(call)                                                                           \
  do {                                                                                        \
    anbn_status rc_ = (call);                                                                 \
    if (rc_ != ANBN_OK) {                                                                     \
      std::fprintf(stderr, "%s: %s: %s\n", #call, anbn_status_string(rc_), anbn_last_error()); \
      return false;                                                                           \
    }                                                                                         \
  } while (0)

struct Result {
  std::string backend;
  double seconds = 0, steps = 0, flops = 0;
  size_t sequences = 0;
};

bool run(const std::string &backend, anbn_cell cell, int H, int layers, int batch, int max_n, size_t count,
         Result *out) {
  anbn_corpus_config cc;
  anbn_corpus_config_init(&cc);
  cc.count = count, cc.min_n = 1, cc.max_n = max_n, cc.seed = 7;
  std::vector<uint32_t> w(size_t(max_n), 1);  // n uniform in 1..max_n
  cc.weights = w.data(), cc.num_weights = w.size();
  anbn_corpus *corpus = nullptr;
  CHECK(anbn_corpus_generate(&cc, &corpus));
  double steps = 0;
  for (size_t i = 0; i < count; ++i) {
    size_t len;
    anbn_corpus_get(corpus, i, nullptr, 0, &len);
    steps += double(len - 1);
  }
  anbn_config c;
  anbn_config_init(&c);
  c.backend = backend.c_str(), c.cell = cell, c.hidden = H, c.layers = layers, c.batch_size = batch, c.threads = 1;
  anbn_model *m = nullptr;
  CHECK(anbn_create(&c, &m));
  anbn_epoch_stats warm = {}, st = {};
  warm.struct_size = st.struct_size = sizeof st;
  CHECK(anbn_train_epoch(m, corpus, nullptr, nullptr, &warm));  // builds every shape's primitives
  CHECK(anbn_train_epoch(m, corpus, nullptr, nullptr, &st));
  const int G = cell == ANBN_CELL_LSTM ? 4 : cell == ANBN_CELL_GRU ? 3 : 1;
  // Training = forward (2 GEMMs per layer-step) + backward (data and weights): 3x forward.
  const double per_step = 3.0 * 2.0 * G * H * (double(H) + H) * layers;
  out->backend = backend;
  out->seconds = st.seconds;
  out->steps = steps;
  out->flops = per_step * steps;
  out->sequences = count;
  anbn_destroy(m);
  anbn_corpus_destroy(corpus);
  return true;
}

}  // namespace

int main(int argc, char **argv) {
  std::string cell_name = "lstm", backends = "ref,onednn";
  int H = 256, layers = 2, batch = 64, max_n = 50;
  size_t sequences = 3200, ref_sequences = 128;  // 3200: about 64 per length, so buckets fill
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char * {
      if (i + 1 >= argc) std::exit((std::fprintf(stderr, "%s needs a value\n", a.c_str()), 2));
      return argv[++i];
    };
    if (a == "--cell") cell_name = next();
    else if (a == "--hidden") H = std::atoi(next());
    else if (a == "--layers") layers = std::atoi(next());
    else if (a == "--batch") batch = std::atoi(next());
    else if (a == "--max-n") max_n = std::atoi(next());
    else if (a == "--backends") backends = next();
    else if (a == "--sequences") sequences = size_t(std::atol(next()));
    else if (a == "--ref-sequences") ref_sequences = size_t(std::atol(next()));
    else if (a == "--json") json = true;
    else {
      std::printf("usage: bench_large [--cell lstm] [--hidden 256] [--layers 2] [--batch 64] [--max-n 50]\n"
                  "                   [--backends ref,onednn] [--sequences 3200] [--ref-sequences 128] [--json]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  anbn_cell cell;
  if (anbn_cell_from_name(cell_name.c_str(), &cell) != ANBN_OK) return std::fprintf(stderr, "%s\n", anbn_last_error()), 2;
  const double peak = matmul_gflops();
  std::vector<Result> results;
  size_t start = 0;
  while (start <= backends.size()) {
    size_t comma = backends.find(',', start);
    if (comma == std::string::npos) comma = backends.size();
    const std::string b = backends.substr(start, comma - start);
    start = comma + 1;
    if (b.empty()) continue;
    Result r;
    if (run(b, cell, H, layers, batch, max_n, b == "ref" ? ref_sequences : sequences, &r)) results.push_back(r);
  }
  if (json) {
    std::printf("{\"config\":{\"cell\":\"%s\",\"hidden\":%d,\"layers\":%d,\"batch\":%d,\"max_n\":%d},"
                "\"matmul_gflops\":%.2f,\"results\":[",
                cell_name.c_str(), H, layers, batch, max_n, peak);
    for (size_t i = 0; i < results.size(); ++i) {
      const Result &r = results[i];
      std::printf("%s{\"backend\":\"%s\",\"sequences\":%zu,\"seconds\":%.4f,\"steps_per_second\":%.1f,"
                  "\"gflops\":%.3f,\"fraction_of_matmul\":%.4f}",
                  i ? "," : "", r.backend.c_str(), r.sequences, r.seconds, r.steps / r.seconds,
                  r.flops / r.seconds / 1e9, peak > 0 ? r.flops / r.seconds / 1e9 / peak : 0.0);
    }
    std::printf("]}\n");
    return 0;
  }
  std::printf("%s, H = %d, %d layers, n = 1..%d, bucketed batches of %d, 1 thread (second epoch timed)\n",
              cell_name.c_str(), H, layers, max_n, batch);
  if (peak > 0) std::printf("single-core FP32 matmul (oneDNN, 512^3): %.2f GFLOP/s\n\n", peak);
  else std::printf("(built without oneDNN: no matmul peak to compare with)\n\n");
  std::printf("%-10s %10s %10s %14s %10s %10s\n", "backend", "sequences", "seconds", "seq-steps/s", "GFLOP/s", "of matmul");
  for (const Result &r : results)
    std::printf("%-10s %10zu %10.3f %14.0f %10.2f %9.1f%%\n", r.backend.c_str(), r.sequences, r.seconds,
                r.steps / r.seconds, r.flops / r.seconds / 1e9, peak > 0 ? 100.0 * r.flops / r.seconds / 1e9 / peak : 0.0);
  return 0;
}
