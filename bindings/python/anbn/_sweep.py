"""`anbn sweep` from Python: on this machine, or spread over a Dask cluster.

    anbn.sweep(cell="lstm", seeds="0-99", epochs=20)            # the dict `anbn sweep --json` prints
    anbn.sweep(..., client=Client("tcp://scheduler:8786"),        # chunks of seeds on the workers
               results="runs.jsonl")                              # resumable, one line per run

Options are the command's, with underscores: lr=3e-2, forget_bias=2,
valid_range="11-100", spot_backend="onednn".  With `client`, the seeds are
cut into chunks, each run on one worker by the `anbn` program installed there
(`anbn sweep --seeds CHUNK --jobs 1`: a population of its seeds); finished
runs stream back into `results` (written by this process only, so a chunk
that Dask retries after a worker died never adds a second line), progress goes
to stderr, and the result is the dict a local run gives.  Dask is optional
(pip install anbn[dask]); nothing else in anbn needs it.
"""
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from typing import Iterable, List, Optional, Union

__all__ = ["sweep"]


def _options(options: dict) -> List[str]:
    out = []
    for key, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            out.append(flag)
        elif isinstance(value, (list, tuple)):
            out += [flag, ",".join(map(str, value))]
        else:
            out += [flag, str(value)]
    return out


def _seed_list(seeds: Union[str, int, Iterable[int]]) -> List[int]:
    if isinstance(seeds, int):
        return [seeds]
    if not isinstance(seeds, str):
        return [int(s) for s in seeds]
    out = []
    for part in seeds.split(","):
        a, _, b = part.partition("-")
        out += range(int(a), int(b or a) + 1)
    return out


def _run(seeds: List[int], args: List[str], results: Optional[str] = None) -> dict:
    from .__main__ import program
    cmd = [program(), "sweep", "--seeds", ",".join(map(str, seeds)), *args, "--json"]
    if results:
        cmd += ["--results", results]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"anbn sweep failed ({r.returncode}): {r.stderr.strip()}")
    return json.loads(r.stdout)


def _chunk(seeds: List[int], args: List[str]) -> dict:
    """One chunk on a worker: its seeds as one population, one thread."""
    return _run(seeds, [*args, "--jobs", "1"])


def _done_seeds(results: str) -> set:
    if not os.path.exists(results):
        return set()
    with open(results) as f:
        return {json.loads(line)["run"]["seed"] for line in f if line.strip()}


def sweep(seeds: Union[str, int, Iterable[int]] = "0-9", *, client=None, results: Optional[str] = None,
          chunk_size: Optional[int] = None, progress: bool = True, **options) -> dict:
    """Runs `anbn sweep` over `seeds` with the command's options (cell="lstm",
    epochs=20, ...) and returns what `anbn sweep --json` prints.  With
    `client` (a dask.distributed.Client) the seeds run in chunks on its
    workers; `results` (a JSON-lines file) keeps finished runs and resumes."""
    seed_list = _seed_list(seeds)
    args = _options(options)
    if client is None:
        return _run(seed_list, args, results)
    from distributed import as_completed  # the optional extra

    t0 = time.monotonic()
    tmp = None
    if results is None:
        tmp = tempfile.NamedTemporaryFile(prefix="anbn-sweep-", suffix=".jsonl", delete=False)
        tmp.close()
        results = tmp.name
    try:
        done = _done_seeds(results)
        before = len(done & set(seed_list))
        todo = [s for s in seed_list if s not in done]
        if todo:
            workers = max(1, len(client.scheduler_info().get("workers", {})))
            size = chunk_size or max(1, math.ceil(len(todo) / (2 * workers)))
            chunks = [todo[i:i + size] for i in range(0, len(todo), size)]
            futures = client.map(_chunk, chunks, args=args, pure=False, retries=3)
            with open(results, "a") as out:
                for future in as_completed(futures):
                    d = future.result()
                    for run in d["runs"]:
                        if run["seed"] in done:
                            continue  # a retried chunk's run already written: never twice
                        out.write(json.dumps({"config": d["config"], "run": run}) + "\n")
                        out.flush()
                        done.add(run["seed"])
                    if progress:
                        print(f"sweep: {len(done & set(seed_list))}/{len(seed_list)} runs", file=sys.stderr, flush=True)
        final = _run(seed_list, args, results)  # every run from the file: the command's own summary
        final["resumed"], final["wall_seconds"] = before, time.monotonic() - t0
        return final
    finally:
        if tmp is not None:
            os.unlink(tmp.name)
