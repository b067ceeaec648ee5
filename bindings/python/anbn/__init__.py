"""anbn: train small recurrent networks on counter languages such as 0^n 1^n
and look inside them.  A ctypes binding of libanbn (no compiled extension).

    import anbn
    c = anbn.Corpus.seed(seed=2)                   # c.train, c.valid
    m = anbn.Model(cell="lstm", hidden=2, seed=1)
    history = m.fit(c.train, c.valid, epochs=20, progress=True)
    m.capacity(max_n=1000).capacity
    p = m.probe([3, 0, 0, 0, 1, 1, 1])             # p.hidden, p.cell, p.gates
    m.save("lstm.safetensors")

Tokens: letters 0..k-1, END = k, START = k+1 (k = 2 for 0^n 1^n).
Every failing call raises anbn.Error with the library's status and message.
Handles are freed by del, by close(), or by a with-block.
"""
import contextlib
import ctypes
import dataclasses
import signal
import sys
import threading
import weakref
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Union

import numpy as np

from . import _lib
from ._lib import lib

__all__ = ["Error", "Corpus", "SeedCorpus", "Model", "State", "Probe", "EpochStats", "EvalStats", "Capacity",
           "Generated", "backends", "version", "language_sequence", "sweep"]

LANGUAGES = {"anbn": 0, "anbnanbn": 1, "anbncn": 2}
LANGUAGE_NAMES = {v: k for k, v in LANGUAGES.items()}


@contextlib.contextmanager
def _sigint_flag(flag: list):
    """While C code runs: SIGINT appends to `flag` instead of raising (main
    thread, default handler only; a program's own handler is left alone)."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    signal.signal(signal.SIGINT, lambda *_: flag.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


class Error(Exception):
    """A call into libanbn failed.  .status is the status name
    (e.g. "ANBN_ERR_INVALID_ARGUMENT"), .code its number, and str() the
    library's message (anbn_last_error)."""

    def __init__(self, code: int, message: str):
        self.code = code
        self.status = lib.anbn_status_string(code).decode()
        self.message = message
        super().__init__(f"{self.status}: {message}")


def _check(code: int) -> None:
    if code != 0:
        raise Error(code, lib.anbn_last_error().decode(errors="replace"))


def version() -> str:
    """The loaded library's version string."""
    return lib.anbn_version().decode()


__version__ = version()  # the library's, generated from CMake's project(VERSION)


def backends() -> List[tuple]:
    """Every known backend as (name, available, reason)."""
    n = ctypes.c_size_t()
    _check(lib.anbn_backend_count(ctypes.byref(n)))
    out = []
    for i in range(n.value):
        b = _lib.BackendInfo()
        _check(lib.anbn_backend_get(i, ctypes.byref(b)))
        out.append((b.name.decode(), bool(b.available), b.reason.decode()))
    return out


def _language(name) -> int:
    if isinstance(name, int):
        return name
    if name not in LANGUAGES:
        raise Error(1, f"unknown language {name!r} (anbn, anbnanbn, anbncn)")
    return LANGUAGES[name]


def language_sequence(n: int, language: str = "anbn") -> List[int]:
    """[START, body(n), END] for one n, e.g. [3, 0, 0, 1, 1, 2] for n = 2."""
    length = ctypes.c_size_t()
    lib.anbn_language_sequence(_language(language), n, None, 0, ctypes.byref(length))
    buf = (ctypes.c_int32 * max(length.value, 1))()
    _check(lib.anbn_language_sequence(_language(language), n, buf, length.value, ctypes.byref(length)))
    return list(buf[: length.value])


def _int32_array(tokens: Sequence[int]) -> np.ndarray:
    a = np.ascontiguousarray(tokens, dtype=np.int64)
    if a.ndim != 1:
        raise Error(1, f"tokens must be one sequence of integers, got shape {a.shape}")
    if a.size and (a.min() < -2**31 or a.max() >= 2**31):
        raise Error(1, "token out of the int32 range")
    return a.astype(np.int32)


def _fptr(a: np.ndarray):
    return a.ctypes.data_as(_lib.c_float_p)


def _iptr(a: np.ndarray):
    return a.ctypes.data_as(_lib.c_int32_p)


_live = {"corpus": 0, "model": 0, "state": 0}


def live_handles() -> Dict[str, int]:
    """How many library handles this process holds now (for leak checks)."""
    return dict(_live)


class _Handle:
    """Owns one C handle; freed on close(), at the end of a with-block, or by
    the garbage collector."""
    _kind = ""
    _destroy = None

    def _own(self, ptr: ctypes.c_void_p):
        self._ptr = ptr
        _live[self._kind] += 1
        self._finalizer = weakref.finalize(self, _Handle._free, type(self)._destroy, ptr.value, self._kind)

    @staticmethod
    def _free(destroy, value, kind):
        destroy(ctypes.c_void_p(value))
        _live[kind] -= 1

    def close(self) -> None:
        """Frees the handle now (idempotent)."""
        if getattr(self, "_finalizer", None) is not None:
            self._finalizer()

    @property
    def closed(self) -> bool:
        return not getattr(self, "_finalizer", None) or not self._finalizer.alive

    def _handle(self):
        if self.closed:
            raise Error(1, f"this {type(self).__name__} is closed")
        return self._ptr

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Corpus(_Handle):
    """An immutable list of token sequences over an alphabet of k letters."""
    _kind = "corpus"
    _destroy = lib.anbn_corpus_destroy

    def __init__(self, _ptr: ctypes.c_void_p):
        self._own(_ptr)

    @staticmethod
    def seed(seed: int = 0, language: str = "anbn") -> "SeedCorpus":
        """The seed corpus: 2000 training sequences (n = 1..10, weights
        10,6,4,3,1,...) and 200 validation sequences plus n = 11 and 12."""
        t, v = ctypes.c_void_p(), ctypes.c_void_p()
        _check(lib.anbn_corpus_seed(_language(language), seed, ctypes.byref(t), ctypes.byref(v)))
        return SeedCorpus(Corpus(t), Corpus(v))

    @staticmethod
    def generate(language: str = "anbn", count: int = 2000, seed: int = 0, min_n: int = 1, max_n: int = 10,
                 weights: Optional[Sequence[int]] = None, extra_n: Sequence[int] = (),
                 shuffle: bool = False) -> "Corpus":
        """Draws `count` sequences with n in min_n..max_n by integer weights
        (None: the seed's 10,6,4,3,1,...), then appends extra_n."""
        cfg = _lib.CorpusConfig()
        lib.anbn_corpus_config_init(ctypes.byref(cfg))
        cfg.language, cfg.count, cfg.seed, cfg.min_n, cfg.max_n = _language(language), count, seed, min_n, max_n
        cfg.shuffle = int(bool(shuffle))
        w = e = None
        if weights is not None:
            w = (ctypes.c_uint32 * len(weights))(*weights)
            cfg.weights, cfg.num_weights = w, len(weights)
        if extra_n:
            e = (ctypes.c_int32 * len(extra_n))(*extra_n)
            cfg.extra_n, cfg.num_extra = e, len(extra_n)
        out = ctypes.c_void_p()
        _check(lib.anbn_corpus_generate(ctypes.byref(cfg), ctypes.byref(out)))
        return Corpus(out)

    @staticmethod
    def from_sequences(sequences: Iterable[Sequence[int]], alphabet: int = 2) -> "Corpus":
        """From lists of tokens, each starting with START = alphabet+1."""
        seqs = [_int32_array(s) for s in sequences]
        lengths = (ctypes.c_size_t * max(len(seqs), 1))(*[len(s) for s in seqs])
        flat = np.concatenate(seqs) if seqs else np.zeros(0, np.int32)
        out = ctypes.c_void_p()
        _check(lib.anbn_corpus_from_tokens(alphabet, _iptr(flat), lengths, len(seqs), ctypes.byref(out)))
        return Corpus(out)

    @staticmethod
    def load(path: str, alphabet: int = 2) -> "Corpus":
        """Reads a corpus file (one sequence per line, tokens separated by spaces)."""
        out = ctypes.c_void_p()
        _check(lib.anbn_corpus_load(str(path).encode(), alphabet, ctypes.byref(out)))
        return Corpus(out)

    def save(self, path: str) -> None:
        _check(lib.anbn_corpus_save(self._handle(), str(path).encode()))

    @property
    def alphabet(self) -> int:
        k = ctypes.c_int32()
        _check(lib.anbn_corpus_alphabet(self._handle(), ctypes.byref(k)))
        return k.value

    def __len__(self) -> int:
        n = ctypes.c_size_t()
        _check(lib.anbn_corpus_size(self._handle(), ctypes.byref(n)))
        return n.value

    def __getitem__(self, i: int) -> List[int]:
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"corpus index {i} out of range ({n} sequences)")
        length = ctypes.c_size_t()
        _check(lib.anbn_corpus_get(self._handle(), i, None, 0, ctypes.byref(length)))
        buf = (ctypes.c_int32 * length.value)()
        _check(lib.anbn_corpus_get(self._handle(), i, buf, length.value, ctypes.byref(length)))
        return list(buf)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self):
        return f"<anbn.Corpus: {len(self)} sequences, k={self.alphabet}>" if not self.closed else "<anbn.Corpus closed>"


@dataclasses.dataclass
class SeedCorpus:
    """The seed corpus: .train (2000) and .valid (202)."""
    train: Corpus
    valid: Corpus

    def close(self):
        self.train.close()
        self.valid.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@dataclasses.dataclass
class EpochStats:
    epoch: int
    mean_loss: float
    sequences: int
    batches: int
    seconds: float


@dataclasses.dataclass
class EvalStats:
    mean_loss: float
    sequences: int
    positions: int
    errors: int
    deterministic_positions: int
    deterministic_errors: int
    correct_sequences: int

    @property
    def error_rate(self) -> float:
        """Argmax errors per predicted position."""
        return self.errors / self.positions if self.positions else 0.0

    @property
    def errors_per_sequence(self) -> float:
        """The seed's 错误率: errors divided by the number of sequences."""
        return self.errors / self.sequences if self.sequences else 0.0


@dataclasses.dataclass
class Probe:
    """Per input step: log_probs (T, O); hidden and cell (T, layers, H);
    gates (T, layers, G*H) — activations in the rows gate_rows names, one
    letter per block of H (LSTM and peephole "ifgo", GRU "rzn").  cell is
    None but for cells with a cell state, gates None for the tanh RNN.
    argmax (T,): the most probable next symbol; deterministic (T,): True
    where the prefix fixes the next symbol (the core's rule)."""
    tokens: np.ndarray
    log_probs: np.ndarray
    hidden: np.ndarray
    cell: Optional[np.ndarray]
    gates: Optional[np.ndarray]
    cell_type: str
    gate_rows: str = ""
    argmax: Optional[np.ndarray] = None
    deterministic: Optional[np.ndarray] = None


@dataclasses.dataclass
class Capacity:
    """capacity: largest N with every n <= N right at all deterministic
    positions; first_failure: smallest failing n (0: none up to max_n);
    per-n arrays n, errors (the seed's Diff), deterministic_errors and
    min_prob (the smallest probability given to a right deterministic
    symbol); margin: min_prob's minimum over n <= capacity (None if 0)."""
    capacity: int
    first_failure: int
    max_n: int
    n: np.ndarray
    errors: np.ndarray
    deterministic_errors: np.ndarray
    min_prob: np.ndarray

    @property
    def margin(self) -> Optional[float]:
        return float(self.min_prob[:self.capacity].min()) if self.capacity > 0 else None


@dataclasses.dataclass
class Generated:
    """Samples (token lists from START) and how many are in the language."""
    samples: List[List[int]]
    valid: int

    @property
    def valid_fraction(self) -> float:
        return self.valid / len(self.samples) if self.samples else 0.0

    def __iter__(self):
        return iter(self.samples)

    def __len__(self):
        return len(self.samples)


class State(_Handle):
    """A recurrent state (h, c) advanced by Model.step."""
    _kind = "state"
    _destroy = lib.anbn_state_destroy

    def __init__(self, _ptr, layers: int, hidden: int):
        self._own(_ptr)
        self._shape = (layers, hidden)

    def reset(self) -> None:
        _check(lib.anbn_state_reset(self._handle()))

    def _get(self):
        h, c = np.zeros(self._shape, np.float32), np.zeros(self._shape, np.float32)
        _check(lib.anbn_state_get(self._handle(), _fptr(h), h.size, _fptr(c), c.size))
        return h, c

    @property
    def hidden(self) -> np.ndarray:
        """(layers, H)"""
        return self._get()[0]

    @property
    def cell(self) -> np.ndarray:
        """(layers, H); zeros for cells without a cell state."""
        return self._get()[1]


class _TextBar:
    """A minimal progress bar for when tqdm is not installed."""

    def __init__(self, total, desc):
        self.total, self.desc, self.n = total, desc, 0

    def update(self, k):
        self.n += k
        width = 30
        fill = int(width * self.n / max(self.total, 1))
        sys.stderr.write(f"\r{self.desc} [{'#' * fill}{' ' * (width - fill)}] {self.n}/{self.total}")
        sys.stderr.flush()

    def set_postfix_str(self, s):
        sys.stderr.write(f" {s}")

    def close(self):
        sys.stderr.write("\n")


def _make_bar(total, desc):
    try:
        from tqdm.auto import tqdm
        return tqdm(total=total, desc=desc, leave=False)
    except ImportError:
        return _TextBar(total, desc)


class Model(_Handle):
    """A network on one backend.  Arguments are the C config's fields; the
    defaults are the seed's (tanh RNN, H = 2, Adam lr 1e-3, batch 1)."""
    _kind = "model"
    _destroy = lib.anbn_destroy

    def __init__(self, cell: str = "rnn", backend: str = "auto", hidden: int = 2, layers: int = 1, seed: int = 1,
                 lr: float = 1e-3, batch: int = 1, language: str = "anbn", embed: int = 0, shuffle: bool = True,
                 threads: int = 1, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 progress_every: int = 500, clip_norm: float = 0.0, _ptr=None):
        if _ptr is None:
            cell_id = ctypes.c_int()
            _check(lib.anbn_cell_from_name(str(cell).encode(), ctypes.byref(cell_id)))
            cfg = _lib.Config()
            lib.anbn_config_init(ctypes.byref(cfg))
            self._backend_name = backend.encode()
            cfg.backend = self._backend_name
            cfg.cell, cfg.language = cell_id.value, _language(language)
            cfg.hidden, cfg.layers, cfg.embed, cfg.seed = hidden, layers, embed, seed
            cfg.lr, cfg.beta1, cfg.beta2, cfg.eps = lr, beta1, beta2, eps
            cfg.batch_size, cfg.shuffle, cfg.threads, cfg.progress_every = batch, int(shuffle), threads, progress_every
            cfg.clip_norm = clip_norm
            _ptr = ctypes.c_void_p()
            _check(lib.anbn_create(ctypes.byref(cfg), ctypes.byref(_ptr)))
        self._own(_ptr)
        self._info = self.info

    # ---------------------------------------------------------------- info
    @property
    def info(self) -> dict:
        """cell, language, alphabet, vocab_size, output_size, hidden, embed,
        layers, gates, num_params, epoch, adam_step, backend, backend_reason
        (why that backend: asked for, or the `auto` rule)."""
        i = _lib.ModelInfo()
        i.struct_size = ctypes.sizeof(i)
        _check(lib.anbn_model_get_info(self._handle(), ctypes.byref(i)))
        d = {f: getattr(i, f) for f, _ in _lib.ModelInfo._fields_ if f != "struct_size"}
        self._cell_id = i.cell
        d["cell"], d["language"], d["backend"] = lib.anbn_cell_name(i.cell).decode(), LANGUAGE_NAMES[i.language], i.backend.decode()
        d["backend_reason"] = (i.backend_reason or b"").decode()
        return d

    @property
    def cell(self) -> str:
        return self._info["cell"]

    @property
    def backend(self) -> str:
        return self._info["backend"]

    def set_training(self, lr: Optional[float] = None, batch: Optional[int] = None, shuffle: Optional[bool] = None,
                     beta1: Optional[float] = None, beta2: Optional[float] = None,
                     eps: Optional[float] = None, clip_norm: Optional[float] = None) -> None:
        """Changes training settings; the others stay."""
        cfg = _lib.Config()
        _check(lib.anbn_model_get_config(self._handle(), ctypes.byref(cfg)))
        for name, v in (("lr", lr), ("batch_size", batch), ("beta1", beta1), ("beta2", beta2), ("eps", eps),
                        ("clip_norm", clip_norm)):
            if v is not None:
                setattr(cfg, name, v)
        if shuffle is not None:
            cfg.shuffle = int(bool(shuffle))
        _check(lib.anbn_model_set_training(self._handle(), ctypes.byref(cfg)))

    # ------------------------------------------------------------- training
    def train_epoch(self, corpus: Corpus, progress: Union[bool, Callable[[dict], Optional[bool]]] = False
                    ) -> EpochStats:
        """One epoch (shuffle, batches, one Adam step per batch).  progress:
        True for a bar (tqdm if installed), or a function of a dict
        {epoch, done, total, mean_loss} that returns True to cancel (then
        anbn.Error ANBN_ERR_CANCELLED is raised and the model is unchanged).
        Ctrl-C raises KeyboardInterrupt, the model rolled back to where the
        epoch began: a callback always runs (every progress_every sequences)
        so that Python can see the signal."""
        bar = None
        errors = []
        interrupted = []

        def cb(_user, p):
            if interrupted:
                return 1
            try:
                d = {"epoch": p.contents.epoch, "done": p.contents.done, "total": p.contents.total,
                     "mean_loss": p.contents.mean_loss}
                if bar is not None:
                    bar.update(d["done"] - bar.n)
                    bar.set_postfix_str(f"loss {d['mean_loss']:.3f}")
                    return 0
                return 1 if progress and progress(d) else 0
            except BaseException as e:  # never let an exception unwind through C
                errors.append(e)
                return 1

        fn = _lib.PROGRESS_FN(cb)  # always: Ctrl-C is seen at the next callback
        if progress is True:
            bar = _make_bar(len(corpus), f"epoch {self.info['epoch']}")
        st = _lib.EpochStats()
        st.struct_size = ctypes.sizeof(st)
        # Python runs signal handlers between bytecodes, here inside cb; an
        # exception raised there could escape the callback, so Ctrl-C only
        # sets a flag that cb turns into a cancel (the model rolls back).
        with _sigint_flag(interrupted):
            try:
                rc = lib.anbn_train_epoch(self._handle(), corpus._handle(), fn, None, ctypes.byref(st))
            finally:
                if bar is not None:
                    bar.close()
        if interrupted:
            raise KeyboardInterrupt
        if errors:
            raise errors[0]
        _check(rc)
        return EpochStats(st.epoch, st.mean_loss, st.sequences, st.batches, st.seconds)

    def fit(self, train: Corpus, valid: Optional[Corpus] = None, epochs: int = 1,
            progress: bool = False) -> List[dict]:
        """Trains `epochs` epochs, evaluating on `valid` after each.  Returns
        the history: one dict per epoch with epoch, train_loss, valid_loss,
        errors, positions, error_rate, errors_per_sequence, seconds."""
        history = []
        for _ in range(epochs):
            st = self.train_epoch(train, progress=progress)
            row = {"epoch": st.epoch, "train_loss": st.mean_loss, "seconds": st.seconds}
            if valid is not None:
                ev = self.evaluate(valid)
                row.update(valid_loss=ev.mean_loss, errors=ev.errors, positions=ev.positions,
                           deterministic_errors=ev.deterministic_errors, error_rate=ev.error_rate,
                           errors_per_sequence=ev.errors_per_sequence)
            history.append(row)
        return history

    def gradients(self, tokens: Sequence[int]):
        """(loss, {name: gradient}) of one sequence; nothing is updated."""
        t = _int32_array(tokens)
        g = np.zeros(self._info["num_params"], np.float32)
        loss = ctypes.c_double()
        _check(lib.anbn_gradients(self._handle(), _iptr(t), t.size, _fptr(g), g.size, ctypes.byref(loss)))
        out, off = {}, 0
        for name, shape in self._param_specs():
            k = int(np.prod(shape))
            out[name] = g[off: off + k].reshape(shape).copy()
            off += k
        return loss.value, out

    # ----------------------------------------------------------- evaluation
    def evaluate(self, corpus: Corpus) -> EvalStats:
        """The seed's evaluation: mean loss and argmax errors (all positions
        and deterministic ones); the model is not changed."""
        e = _lib.EvalStats()
        _check(lib.anbn_evaluate(self._handle(), corpus._handle(), ctypes.byref(e)))
        return EvalStats(e.mean_loss, e.sequences, e.positions, e.errors, e.deterministic_positions,
                         e.deterministic_errors, e.correct_sequences)

    def state(self) -> State:
        """A fresh recurrent state (zeros) for step()."""
        s = ctypes.c_void_p()
        _check(lib.anbn_state_create(self._handle(), ctypes.byref(s)))
        return State(s, self._info["layers"], self._info["hidden"])

    def step(self, state: State, token: int) -> np.ndarray:
        """Feeds one token; returns the next symbol's log-probs (output_size,)."""
        out = np.zeros(self._info["output_size"], np.float32)
        _check(lib.anbn_step(self._handle(), state._handle(), int(token), _fptr(out)))
        return out

    def probe(self, tokens: Sequence[int]) -> Probe:
        """Runs every token as an input (one row per input token) and returns
        the log-probs, hidden and cell states and gate activations."""
        t = _int32_array(tokens)
        i = self._info
        T, L, H, G = t.size, i["layers"], i["hidden"], i["gates"]
        lp = np.zeros((T, i["output_size"]), np.float32)
        h = np.zeros((T, L, H), np.float32)
        c = np.zeros((T, L, H), np.float32) if i["has_cell_state"] else None
        g = np.zeros((T, L, G * H), np.float32) if G > 1 else None
        b = _lib.ProbeBuffers()
        lib.anbn_probe_buffers_init_v2(ctypes.byref(b), ctypes.sizeof(b))
        b.log_probs, b.log_probs_count = _fptr(lp), lp.size
        b.hidden, b.hidden_count = _fptr(h), h.size
        if c is not None:
            b.cell, b.cell_count = _fptr(c), c.size
        if g is not None:
            b.gates, b.gates_count = _fptr(g), g.size
        best, det = np.zeros(T, np.int32), np.zeros(T, np.int32)
        b.argmax, b.argmax_count = _iptr(best), T
        b.deterministic, b.deterministic_count = _iptr(det), T
        _check(lib.anbn_probe(self._handle(), _iptr(t), T, ctypes.byref(b)))
        rows = lib.anbn_cell_gate_rows(self._cell_id).decode() if g is not None else ""
        return Probe(t, lp, h, c, g, i["cell"], rows, best, det.astype(bool))

    def capacity(self, max_n: int = 1000) -> Capacity:
        """Tests n = 1..max_n at every deterministic position (the 0^n
        prefix is run once for all n)."""
        rows = (_lib.CapacityRowV2 * max(max_n, 1))()
        r = _lib.CapacityResult()
        r.struct_size = ctypes.sizeof(r)
        _check(lib.anbn_capacity_v2(self._handle(), max_n, ctypes.byref(r), rows, max_n))
        arr = np.ctypeslib.as_array(rows)[:max_n]
        return Capacity(r.capacity, r.first_failure, r.max_n, np.array(arr["n"]), np.array(arr["errors"]),
                        np.array(arr["deterministic_errors"]), np.array(arr["min_prob"]))

    def capacity_at(self, ns: Sequence[int]) -> List[dict]:
        """Spot checks far beyond a scan: for each n its whole sequence, as
        dicts {n, errors, deterministic_errors, positions, min_prob, correct}."""
        t = _int32_array(ns)
        rows = (_lib.CapacityRowV2 * max(len(t), 1))()
        _check(lib.anbn_capacity_at(self._handle(), _iptr(t), len(t), rows))
        out = []
        for r in rows[:len(t)]:
            out.append({"n": r.n, "errors": r.errors, "deterministic_errors": r.deterministic_errors,
                        "positions": r.positions, "min_prob": float(r.min_prob),
                        "correct": r.deterministic_errors == 0})
        return out

    def diagnose(self, n: int = 20) -> dict:
        """How the model counts (the same dict as `anbn diagnose --json`):
        LSTM/GRU the unit that best tracks the count along START 0^n 1^n,
        its per-step change in each phase and the lowest keep/write gates;
        tanh RNN the 0-phase fixed point and its Jacobian's eigenvalues.
        Computed by the library (anbn_diagnose)."""
        import json
        if not 1 <= int(n) <= 100000:
            raise ValueError(f"n must be in 1..100000, got {n}")
        size = ctypes.c_size_t()
        _check(lib.anbn_diagnose(self._handle(), int(n), None, 0, ctypes.byref(size)))
        buf = ctypes.create_string_buffer(size.value + 1)
        _check(lib.anbn_diagnose(self._handle(), int(n), buf, len(buf), ctypes.byref(size)))
        return json.loads(buf.value.decode())

    def generate(self, count: int = 10, temperature: float = 1.0, seed: int = 0, max_len: int = 200) -> Generated:
        """Samples from START until END; temperature 0 is greedy."""
        g = _lib.GenerateConfig()
        lib.anbn_generate_config_init(ctypes.byref(g))
        g.count, g.temperature, g.seed, g.max_len = count, temperature, seed, max_len
        out, valid = ctypes.c_void_p(), ctypes.c_size_t()
        _check(lib.anbn_generate(self._handle(), ctypes.byref(g), ctypes.byref(out), ctypes.byref(valid)))
        with Corpus(out) as c:
            return Generated(list(c), valid.value)

    # ----------------------------------------------------------- parameters
    def _param_specs(self):
        n = ctypes.c_size_t()
        _check(lib.anbn_param_count(self._handle(), ctypes.byref(n)))
        specs = []
        for k in range(n.value):
            name, nd, shape = ctypes.c_char_p(), ctypes.c_int32(), (ctypes.c_int64 * 2)()
            _check(lib.anbn_param_info(self._handle(), k, ctypes.byref(name), ctypes.byref(nd), shape, None))
            specs.append((name.value.decode(), tuple(shape[: nd.value])))
        return specs

    def parameters(self) -> Dict[str, np.ndarray]:
        """Every tensor by its PyTorch state_dict name, as float32 arrays."""
        out = {}
        for name, shape in self._param_specs():
            a = np.zeros(shape, np.float32)
            _check(lib.anbn_param_get(self._handle(), name.encode(), _fptr(a), a.size))
            out[name] = a
        return out

    def set_parameter(self, name: str, value) -> None:
        """Replaces one tensor (shape must match; values must be finite)."""
        shapes = dict(self._param_specs())
        if name not in shapes:
            raise Error(1, f"no parameter named {name!r}")
        a = np.ascontiguousarray(value, dtype=np.float32)
        if a.shape != shapes[name]:
            raise Error(1, f"{name} has shape {shapes[name]}, got {a.shape}")
        _check(lib.anbn_param_set(self._handle(), name.encode(), _fptr(a), a.size))

    def state_dict(self) -> Dict[str, np.ndarray]:
        """The parameters under the seed classes' names (embedding.*, rnn.* /
        lstm.* / gru.*, fc.*) as numpy arrays:
        ``seed_model.load_state_dict({k: torch.from_numpy(v) for k, v in m.state_dict().items()})``."""
        return self.parameters()

    def load_state_dict(self, state: Dict[str, object]) -> None:
        """Sets every parameter from a state_dict of numpy arrays or torch
        tensors (a seed class's ``state_dict()``, or a checkpoint's tensors);
        optimizer.* entries are ignored, 0.2's rnn.* names for an LSTM or GRU
        accepted.  Strict like PyTorch: a missing or unknown tensor is an error,
        and nothing is changed then."""
        shapes = dict(self._param_specs())
        legacy = {("rnn." + n.split(".", 1)[1]): n for n in shapes if n.startswith(("lstm.", "gru."))}
        values = {}
        for key, v in state.items():
            if key.startswith("optimizer."):
                continue
            name = key if key in shapes else legacy.get(key)
            if name is None:
                raise Error(1, f"unexpected tensor {key!r} (this model has {', '.join(shapes)})")
            if hasattr(v, "detach"):  # a torch tensor
                v = v.detach().cpu().numpy()
            a = np.ascontiguousarray(v, dtype=np.float32)
            if a.shape != shapes[name]:
                raise Error(1, f"{key} has shape {a.shape}, the model's is {shapes[name]}")
            if not np.isfinite(a).all():
                raise Error(1, f"{key} holds non-finite values")
            values[name] = a
        missing = [n for n in shapes if n not in values]
        if missing:
            raise Error(1, f"missing tensors: {', '.join(missing)}")
        for name, a in values.items():
            _check(lib.anbn_param_set(self._handle(), name.encode(), _fptr(a), a.size))

    # ---------------------------------------------------------- checkpoints
    def save(self, path: str) -> None:
        """Writes a safetensors checkpoint (PyTorch state_dict names, Adam
        state under optimizer.*), atomically."""
        _check(lib.anbn_save(self._handle(), str(path).encode()))

    @classmethod
    def load(cls, path: str, backend: str = "auto") -> "Model":
        """Loads a checkpoint (or a plain PyTorch state_dict in safetensors)."""
        out = ctypes.c_void_p()
        _check(lib.anbn_load(str(path).encode(), backend.encode(), ctypes.byref(out)))
        return cls(_ptr=out)

    def __repr__(self):
        if self.closed:
            return "<anbn.Model closed>"
        i = self.info
        return (f"<anbn.Model {i['cell']} H={i['hidden']} layers={i['layers']} on {i['backend']}, "
                f"epoch {i['epoch']}>")


from ._sweep import sweep  # noqa: E402  (anbn sweep from Python, optionally on a Dask cluster)
