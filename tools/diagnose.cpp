// anbn diagnose: how a model counts (anbn_diagnose, src/diagnose.cpp), printed.
#include "cli.hpp"

namespace cli {

int cmd_diagnose(int argc, char **argv) {
  Args a("diagnose --model CKPT [--n 20] [--json]",
         "How the model counts.  LSTM/GRU: the unit that best tracks the count along START 0^n 1^n, its per-step\n"
         "change in the 0s and the 1s, and the lowest forget/input (GRU: update) gate values per phase.  tanh RNN:\n"
         "the fixed point of the 0-phase map and the eigenvalues of its Jacobian there.",
         {{"--model", "CKPT", "checkpoint", ""},
          {"--backend", "B", "compute backend", "auto"},
          {"--n", "N", "the n of the probe sequence", "20"},
          {"--json", "", "print the diagnosis as JSON", ""}});
  if (!a.parse(argc, argv)) return 0;
  if (a.str("--model").empty()) throw Failure{"diagnose needs --model CKPT", 2};
  ModelPtr m;
  load_model(a.str("--model"), a.str("--backend"), m);
  const int n = int(a.integer("--n", 1, 100000));
  size_t len = 0;
  check(anbn_diagnose(m.m, n, nullptr, 0, &len), "diagnose");
  std::string text(len + 1, '\0');
  check(anbn_diagnose(m.m, n, &text[0], text.size(), &len), "diagnose");
  text.resize(len);
  const json d = json::parse(text);
  if (a.flag("--json")) {
    std::printf("%s\n", d.dump(2).c_str());
    return 0;
  }
  if (d.contains("fixed_point")) {  // the tanh RNN's diagnosis
    std::printf("0-phase fixed point h* = %s (%s after %d iterations)\n", d["fixed_point"].dump().c_str(),
                d["converged"].get<bool>() ? "converged" : "NOT converged", d["iterations"].get<int>());
    std::printf("Jacobian eigenvalues there: %s; spectral radius %.4f (%s)\n", d["eigenvalues"].dump().c_str(),
                d["spectral_radius"].get<double>(),
                d["spectral_radius"].get<double>() < 1 ? "contracting: the 0s are forgotten geometrically"
                                                       : "not contracting");
    return 0;
  }
  const auto &u = d["unit"];
  std::printf("counter: %s unit %d of layer %d (correlation with #0-#1 along n = %d: %.4f)\n",
              u["state"].get<std::string>().c_str(), u["index"].get<int>(), u["layer"].get<int>(), n,
              u["correlation"].get<double>());
  std::printf("per-step change: 0s %+.4f ± %.4f, 1s %+.4f ± %.4f\n", d["delta_zeros"]["mean"].get<double>(),
              d["delta_zeros"]["std"].get<double>(), d["delta_ones"]["mean"].get<double>(),
              d["delta_ones"]["std"].get<double>());
  for (const char *k : {"min_forget", "min_input", "min_update_z"})
    if (d.contains(k))
      std::printf("%-13s 0s %.6f, 1s %.6f\n", k, d[k]["zeros"].get<double>(), d[k]["ones"].get<double>());
  return 0;
}

}  // namespace cli
