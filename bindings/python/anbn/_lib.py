"""ctypes declarations of the C API (include/anbn/anbn.h), one for one.

The library is found, in order: ANBN_LIBRARY; next to this package
(anbn/libanbn.so*); the build tree (<build>/python/anbn -> <build>/lib); an
install prefix (<prefix>/lib/pythonX.Y/site-packages/anbn -> <prefix>/lib);
then the system loader path.
"""
import ctypes
import ctypes.util
import os
import pathlib

c_size = ctypes.c_size_t
c_int32 = ctypes.c_int32
c_int64 = ctypes.c_int64
c_uint64 = ctypes.c_uint64
c_float_p = ctypes.POINTER(ctypes.c_float)
c_int32_p = ctypes.POINTER(ctypes.c_int32)


class BackendInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("available", ctypes.c_int), ("reason", ctypes.c_char_p),
                ("path", ctypes.c_char_p)]


class CorpusConfig(ctypes.Structure):
    _fields_ = [("struct_size", c_size), ("language", ctypes.c_int), ("seed", c_uint64), ("count", c_size),
                ("min_n", c_int32), ("max_n", c_int32), ("weights", ctypes.POINTER(ctypes.c_uint32)),
                ("num_weights", c_size), ("extra_n", c_int32_p), ("num_extra", c_size), ("shuffle", ctypes.c_int)]


class Config(ctypes.Structure):
    _fields_ = [("struct_size", c_size), ("backend", ctypes.c_char_p), ("cell", ctypes.c_int),
                ("language", ctypes.c_int), ("hidden", c_int32), ("embed", c_int32), ("layers", c_int32),
                ("seed", c_uint64), ("lr", ctypes.c_float), ("beta1", ctypes.c_float), ("beta2", ctypes.c_float),
                ("eps", ctypes.c_float), ("batch_size", c_int32), ("shuffle", c_int32), ("threads", c_int32),
                ("progress_every", c_int32), ("clip_norm", ctypes.c_float)]


class ModelInfo(ctypes.Structure):
    _fields_ = [("struct_size", c_size), ("cell", ctypes.c_int), ("language", ctypes.c_int),
                ("alphabet", c_int32), ("vocab_size", c_int32), ("output_size", c_int32), ("hidden", c_int32),
                ("embed", c_int32), ("layers", c_int32), ("gates", c_int32), ("num_params", c_size),
                ("epoch", c_int64), ("adam_step", c_int64), ("backend", ctypes.c_char_p),
                ("backend_reason", ctypes.c_char_p), ("has_cell_state", c_int32)]


class Progress(ctypes.Structure):
    _fields_ = [("epoch", c_int64), ("done", c_size), ("total", c_size), ("mean_loss", ctypes.c_double)]


PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(Progress))


class EpochStats(ctypes.Structure):
    _fields_ = [("struct_size", c_size), ("epoch", c_int64), ("mean_loss", ctypes.c_double),
                ("sequences", c_size), ("batches", c_size), ("seconds", ctypes.c_double)]


class EvalStats(ctypes.Structure):
    _fields_ = [("struct_size", c_size), ("mean_loss", ctypes.c_double), ("sequences", c_size),
                ("positions", c_size), ("errors", c_size), ("deterministic_positions", c_size),
                ("deterministic_errors", c_size), ("correct_sequences", c_size)]


class ProbeBuffers(ctypes.Structure):
    _fields_ = [("struct_size", c_size), ("log_probs", c_float_p), ("log_probs_count", c_size),
                ("hidden", c_float_p), ("hidden_count", c_size), ("cell", c_float_p), ("cell_count", c_size),
                ("gates", c_float_p), ("gates_count", c_size), ("argmax", c_int32_p), ("argmax_count", c_size),
                ("deterministic", c_int32_p), ("deterministic_count", c_size)]


class CapacityRow(ctypes.Structure):
    _fields_ = [("n", c_int32), ("errors", c_int32), ("deterministic_errors", c_int32), ("positions", c_int32)]


class CapacityRowV2(ctypes.Structure):
    _fields_ = [("n", c_int32), ("errors", c_int32), ("deterministic_errors", c_int32), ("positions", c_int32),
                ("min_prob", ctypes.c_float)]


class CapacityResult(ctypes.Structure):
    _fields_ = [("struct_size", c_size), ("capacity", c_int32), ("first_failure", c_int32), ("max_n", c_int32)]


class GenerateConfig(ctypes.Structure):
    _fields_ = [("struct_size", c_size), ("count", c_size), ("temperature", ctypes.c_float), ("seed", c_uint64),
                ("max_len", c_size)]


def _candidates():
    env = os.environ.get("ANBN_LIBRARY")
    if env:
        yield env
    here = pathlib.Path(__file__).resolve().parent
    for d in (here, here.parent.parent / "lib", here.parent.parent.parent):
        for name in ("libanbn.so.0", "libanbn.so"):
            if (d / name).exists():
                yield str(d / name)
    found = ctypes.util.find_library("anbn")
    if found:
        yield found
    yield "libanbn.so.0"


def _load():
    errors = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise ImportError("anbn: cannot load libanbn (set ANBN_LIBRARY to its path):\n  " + "\n  ".join(errors))


lib = _load()

P = ctypes.POINTER
_st = ctypes.c_int  # anbn_status
_sigs = {
    "anbn_status_string": (ctypes.c_char_p, [ctypes.c_int]),
    "anbn_last_error": (ctypes.c_char_p, []),
    "anbn_version": (ctypes.c_char_p, []),
    "anbn_version_number": (ctypes.c_uint32, []),
    "anbn_cell_from_name": (_st, [ctypes.c_char_p, P(ctypes.c_int)]),
    "anbn_cell_name": (ctypes.c_char_p, [ctypes.c_int]),
    "anbn_cell_gate_rows": (ctypes.c_char_p, [ctypes.c_int]),
    "anbn_language_from_name": (_st, [ctypes.c_char_p, P(ctypes.c_int)]),
    "anbn_language_name": (ctypes.c_char_p, [ctypes.c_int]),
    "anbn_language_alphabet": (c_int32, [ctypes.c_int]),
    "anbn_language_accepts": (_st, [ctypes.c_int, c_int32_p, c_size, c_int32_p]),
    "anbn_language_sequence": (_st, [ctypes.c_int, c_int32, c_int32_p, c_size, P(c_size)]),
    "anbn_backend_count": (_st, [P(c_size)]),
    "anbn_backend_get": (_st, [c_size, P(BackendInfo)]),
    "anbn_corpus_config_init": (None, [P(CorpusConfig)]),
    "anbn_corpus_generate": (_st, [P(CorpusConfig), P(ctypes.c_void_p)]),
    "anbn_corpus_seed": (_st, [ctypes.c_int, c_uint64, P(ctypes.c_void_p), P(ctypes.c_void_p)]),
    "anbn_corpus_from_tokens": (_st, [c_int32, c_int32_p, P(c_size), c_size, P(ctypes.c_void_p)]),
    "anbn_corpus_load": (_st, [ctypes.c_char_p, c_int32, P(ctypes.c_void_p)]),
    "anbn_corpus_save": (_st, [ctypes.c_void_p, ctypes.c_char_p]),
    "anbn_corpus_size": (_st, [ctypes.c_void_p, P(c_size)]),
    "anbn_corpus_alphabet": (_st, [ctypes.c_void_p, c_int32_p]),
    "anbn_corpus_get": (_st, [ctypes.c_void_p, c_size, c_int32_p, c_size, P(c_size)]),
    "anbn_corpus_destroy": (None, [ctypes.c_void_p]),
    "anbn_config_init": (None, [P(Config)]),
    "anbn_create": (_st, [P(Config), P(ctypes.c_void_p)]),
    "anbn_destroy": (None, [ctypes.c_void_p]),
    "anbn_model_get_info": (_st, [ctypes.c_void_p, P(ModelInfo)]),
    "anbn_model_get_config": (_st, [ctypes.c_void_p, P(Config)]),
    "anbn_model_set_training": (_st, [ctypes.c_void_p, P(Config)]),
    "anbn_train_epoch": (_st, [ctypes.c_void_p, ctypes.c_void_p, PROGRESS_FN, ctypes.c_void_p, P(EpochStats)]),
    "anbn_gradients": (_st, [ctypes.c_void_p, c_int32_p, c_size, c_float_p, c_size, P(ctypes.c_double)]),
    "anbn_evaluate": (_st, [ctypes.c_void_p, ctypes.c_void_p, P(EvalStats)]),
    "anbn_state_create": (_st, [ctypes.c_void_p, P(ctypes.c_void_p)]),
    "anbn_state_reset": (_st, [ctypes.c_void_p]),
    "anbn_state_get": (_st, [ctypes.c_void_p, c_float_p, c_size, c_float_p, c_size]),
    "anbn_state_destroy": (None, [ctypes.c_void_p]),
    "anbn_step": (_st, [ctypes.c_void_p, ctypes.c_void_p, c_int32, c_float_p]),
    "anbn_probe_buffers_init_v2": (None, [P(ProbeBuffers), c_size]),  # the plain symbol fills 0.2's layout
    "anbn_probe": (_st, [ctypes.c_void_p, c_int32_p, c_size, P(ProbeBuffers)]),
    "anbn_capacity": (_st, [ctypes.c_void_p, c_int32, P(CapacityResult), P(CapacityRow), c_size]),
    "anbn_capacity_v2": (_st, [ctypes.c_void_p, c_int32, P(CapacityResult), P(CapacityRowV2), c_size]),
    "anbn_capacity_at": (_st, [ctypes.c_void_p, c_int32_p, c_size, P(CapacityRowV2)]),
    "anbn_diagnose": (_st, [ctypes.c_void_p, c_int32, ctypes.c_char_p, c_size, P(c_size)]),
    "anbn_generate_config_init": (None, [P(GenerateConfig)]),
    "anbn_generate": (_st, [ctypes.c_void_p, P(GenerateConfig), P(ctypes.c_void_p), P(c_size)]),
    "anbn_param_count": (_st, [ctypes.c_void_p, P(c_size)]),
    "anbn_param_info": (_st, [ctypes.c_void_p, c_size, P(ctypes.c_char_p), c_int32_p, P(c_int64), P(c_size)]),
    "anbn_param_get": (_st, [ctypes.c_void_p, ctypes.c_char_p, c_float_p, c_size]),
    "anbn_param_set": (_st, [ctypes.c_void_p, ctypes.c_char_p, c_float_p, c_size]),
    "anbn_save": (_st, [ctypes.c_void_p, ctypes.c_char_p]),
    "anbn_load": (_st, [ctypes.c_char_p, ctypes.c_char_p, P(ctypes.c_void_p)]),
}
for _name, (_res, _args) in _sigs.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args
