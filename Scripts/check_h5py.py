#!/usr/bin/env python3
"""h5py reads what `switchgym traces import` writes, and the statistics are right.

For both real traces in ../shared/traces:
  1. `switchgym traces import` (zstd, HDF5 filter 32015), then h5py + hdf5plugin read it;
  2. the number of arrivals and the first/last timestamps equal those computed from the
     CSV with Python's csv module (LLM: every timestamp; Functions: the exact count of
     every (function, minute) cell, so the expansion lost or moved nothing);
  3. `switchgym traces inspect --json` agrees with numpy on the CSV: requests, mean rate,
     and peak/mean and CV of per-window counts (LLM at 1/10/60 s from the CSV timestamps;
     Functions at 60 s, overall and per function, from the minute columns).
Also reads datasets/default.h5. Prints SKIP with the reason when ../shared or PyPI is absent.
"""
import csv
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyclient  # noqa: E402

pyclient.require(["numpy", "h5py", "hdf5plugin"])
import h5py  # noqa: E402
import hdf5plugin  # noqa: E402,F401  (registers filter 32015)
import numpy as np  # noqa: E402

LLM = os.path.join(pyclient.SHARED, "traces", "azure_llm_2023", "AzureLLMInferenceTrace_code.csv")
FUNCS = os.path.join(pyclient.SHARED, "traces", "azure_functions_2019_sample500", "invocations.csv")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def close(a, b, rel=1e-9):
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def window_stats(counts):
    """Peak/mean and population CV of per-window counts (empty windows included)."""
    counts = np.asarray(counts, dtype=np.float64)
    mean = counts.mean()
    return counts.max() / mean, counts.std() / mean


def stats_for(js, window):
    return next(w for w in js["windows"] if abs(w["window_seconds"] - window) < 1e-9)


def parse_llm_time(s):
    date, time = s.split(" ")
    hms, frac = (time.split(".") + ["0"])[:2]
    base = dt.datetime.fromisoformat(f"{date}T{hms}").replace(tzinfo=dt.timezone.utc)
    frac = (frac + "0000000")[:7]
    return int(base.timestamp()) * 10_000_000 + int(frac)  # 100 ns ticks


def check_llm(tmp):
    with open(LLM, newline="") as f:
        rows = list(csv.DictReader(f))
    ticks = np.array([parse_llm_time(r["TIMESTAMP"]) for r in rows], dtype=np.int64)
    out = os.path.join(tmp, "llm.h5")
    pyclient.run(["traces", "import", LLM, "-o", out])
    with h5py.File(out, "r") as h:
        t = h["arrivals"][:]
        check(h.attrs["format"] == "switchgym-trace", "LLM: format attribute")
        check("32015" in str(h["arrivals"]._filters),
              f"LLM: /arrivals is compressed with filter 32015 ({list(h['arrivals']._filters)})")
        check(len(t) == len(rows), f"LLM: h5py reads {len(t)} arrivals, the CSV has {len(rows)} rows")
        rel_us = (ticks - ticks[0]) / 10.0
        check(t[0] == 0 and abs(t[-1] - rel_us[-1]) <= 1.0,
              f"LLM: first/last arrival {t[0]}/{t[-1]} us vs CSV {0}/{rel_us[-1]:.1f} us")
        check(np.all(np.abs(t - rel_us) <= 1.0), "LLM: every arrival within 1 us of its CSV timestamp")
        check(np.array_equal(h["tokens_in"][:], [int(r["ContextTokens"]) for r in rows]), "LLM: tokens_in equal ContextTokens")
        check(np.array_equal(h["tokens_out"][:], [int(r["GeneratedTokens"]) for r in rows]), "LLM: tokens_out equal GeneratedTokens")
        start = h.attrs["start_time"]
        start = start.decode() if isinstance(start, bytes) else str(start)
        check(start.startswith(rows[0]["TIMESTAMP"][:19].replace(" ", "T")),
              f"LLM: start_time {start} is the first CSV timestamp {rows[0]['TIMESTAMP']}")
    js = json.loads(pyclient.run(["traces", "inspect", out, "--json"]))
    duration_us = int(rel_us[-1]) + 1  # the importer's documented span: last arrival + 1 us
    check(js["requests"] == len(rows), "LLM: inspect requests")
    check(close(js["mean_rate"], len(rows) / (duration_us / 1e6), 1e-6), f"LLM: mean rate {js['mean_rate']:.4f} req/s")
    for w in (1, 10, 60):
        n = -(-duration_us // (w * 1_000_000))
        counts = np.bincount((rel_us // (w * 1e6)).astype(np.int64), minlength=n)
        pm, cv = window_stats(counts)
        s = stats_for(js["overall"], w)
        check(close(s["peak_to_mean"], pm, 1e-6) and close(s["cv"], cv, 1e-6),
              f"LLM @{w}s: peak/mean {s['peak_to_mean']:.3f} vs numpy {pm:.3f}, CV {s['cv']:.3f} vs {cv:.3f}")


def check_functions(tmp):
    with open(FUNCS, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        rows = list(r)
    minutes = [int(m) for m in header[4:]]
    counts = np.array([[int(x) for x in row[4:]] for row in rows], dtype=np.int64)  # [function, minute]
    names = ["/".join(row[:3]) for row in rows]
    out = os.path.join(tmp, "funcs.h5")
    pyclient.run(["traces", "import", FUNCS, "-o", out, "--seed", "7"])
    with h5py.File(out, "r") as h:
        t = h["arrivals"][:]
        sid = h["stream_ids"][:]
        stream_names = list(h["streams/name"].asstr()[:])
        check(len(t) == counts.sum(), f"Functions: h5py reads {len(t)} arrivals, the CSV counts {counts.sum()}")
        nz = np.nonzero(counts.sum(axis=0))[0]
        check(t[0] // 60_000_000 == nz[0] and t[-1] // 60_000_000 == nz[-1],
              f"Functions: first/last arrival in minutes {minutes[t[0] // 60_000_000]}/{minutes[t[-1] // 60_000_000]},"
              f" CSV's first/last busy minutes {minutes[nz[0]]}/{minutes[nz[-1]]}")
        check(np.all(np.diff(t) >= 0), "Functions: arrivals sorted")
        index = {n: i for i, n in enumerate(names)}
        row_of_stream = np.array([index[n] for n in stream_names])
        cell = np.zeros_like(counts)
        np.add.at(cell, (row_of_stream[sid], t // 60_000_000), 1)
        check(np.array_equal(cell, counts), "Functions: every (function, minute) count equals the CSV's")
        check(h.attrs["seed"] == 7, "Functions: seed attribute")
    js = json.loads(pyclient.run(["traces", "inspect", out, "--json"]))
    check(js["requests"] == counts.sum(), "Functions: inspect requests")
    check(close(js["duration_seconds"], 60 * len(minutes)), f"Functions: duration {js['duration_seconds']} s")
    pm, cv = window_stats(counts.sum(axis=0))
    s = stats_for(js["overall"], 60)
    check(close(s["peak_to_mean"], pm) and close(s["cv"], cv),
          f"Functions @60s: peak/mean {s['peak_to_mean']:.4f} vs numpy {pm:.4f}, CV {s['cv']:.4f} vs {cv:.4f}")
    bad = 0
    for st in js["streams"]:
        c = counts[index[st["name"]]]
        if c.sum() == 0:
            continue
        p, v = window_stats(c)
        w = stats_for(st, 60)
        bad += not (close(w["peak_to_mean"], p) and close(w["cv"], v))
    check(bad == 0, f"Functions @60s: per-function peak/mean and CV match numpy for all {len(js['streams'])} functions")


def check_default():
    path = os.path.join(pyclient.ROOT, "datasets", "default.h5")
    with h5py.File(path, "r") as h:
        t = h["arrivals"][:]
        check(len(t) == h.attrs["num_requests"] and np.all(np.diff(t) >= 0), f"default.h5: {len(t)} sorted arrivals")


def main():
    check_default()
    if not (os.path.exists(LLM) and os.path.exists(FUNCS)):
        pyclient.skip(f"real traces not found under {pyclient.SHARED}/traces (default.h5 checked)")
    with tempfile.TemporaryDirectory() as tmp:
        check_llm(tmp)
        check_functions(tmp)
    if failures:
        pyclient.fail(f"{len(failures)} check(s) failed")
    print("PASS: check_h5py.py")


main()
