#!/usr/bin/env python3
"""TensorBoard's own readers open the event files SwitchGym writes, and they equal metrics.csv.

`switchgym debug write-metrics` logs deterministic synthetic scalars through the real
MetricsLogger (the code `switchgym train` uses). Then, with the `tensorboard` package
(no TensorFlow: its tf-free stub reader, which checks both CRCs of every record):
  1. EventAccumulator (size_guidance scalars=0, i.e. keep all) finds exactly the CSV's tags,
     and for every tag the same steps, values (at float32 precision) and wall times,
     with wall times non-decreasing;
  2. the raw records, read with the iterator EventFileLoader uses and parsed as
     `Event` protos: the first is file_version "brain.Event:2", one Summary event per CSV row;
     every record's length and data CRCs recomputed with TensorBoard's masked_crc32c;
     a copy with one flipped byte makes the reader raise DataLossError;
  3. resuming: a run cut at a later step and resumed from an earlier one (--resume-from)
     has the same CSV (without wall times) as an uninterrupted run, two event files, and
     EventAccumulator over the folder shows the uninterrupted run's scalars (SessionLog START
     makes it drop the abandoned steps).
Every switchgym run here is the real binary ($SWITCHGYM_BIN, else .build/release or debug).
Prints SKIP with the reason when tensorboard cannot be installed.
"""
import csv
import logging
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyclient  # noqa: E402

pyclient.require(["numpy", "tensorboard"])
import numpy as np  # noqa: E402
from tensorboard.backend.event_processing import event_accumulator, event_file_loader  # noqa: E402
from tensorboard.compat.proto import event_pb2  # noqa: E402
from tensorboard.compat.tensorflow_stub import errors as tb_errors  # noqa: E402
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c  # noqa: E402

# The accumulator logs a warning when SessionLog START purges steps; the check says it instead.
logging.getLogger("tensorboard").setLevel(logging.ERROR)

STEPS, EVERY = 2000, 8
CUT, RESUME = 1200, 800
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def write_metrics(out, steps, resume=None, stop_at=None):
    args = ["debug", "write-metrics", "--out", out, "--steps", str(steps), "--every", str(EVERY)]
    if resume is not None:
        args += ["--resume-from", str(resume)]
    if stop_at is not None:
        args += ["--stop-at", str(stop_at)]
    r = subprocess.run([pyclient.switchgym_binary()] + args, capture_output=True, text=True)
    if r.returncode != 0:
        pyclient.fail(f"switchgym {' '.join(args)} exited {r.returncode}:\n{r.stderr}")
    return r.stderr


def read_csv(run):
    """{tag: [(step, value, wall_time)]} in file order."""
    with open(os.path.join(run, "metrics.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    by_tag = {}
    for r in rows:
        by_tag.setdefault(r["tag"], []).append((int(r["step"]), float(r["value"]), float(r["wall_time"])))
    return rows, by_tag


def f32_equal(a, b):
    a, b = np.float32(a), np.float32(b)
    return (math.isnan(a) and math.isnan(b)) or a.tobytes() == b.tobytes()


def accumulate(run):
    acc = event_accumulator.EventAccumulator(run, size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    return acc


def compare_accumulator(run, by_tag, label, check_wall=True):
    acc = accumulate(run)
    tags = sorted(acc.Tags()["scalars"])
    check(tags == sorted(by_tag), f"{label}: EventAccumulator tags {tags} equal the CSV's")
    n = bad_steps = bad_values = bad_wall = not_monotone = 0
    for tag in tags:
        events = acc.Scalars(tag)
        rows = by_tag.get(tag, [])
        n += len(events)
        if [e.step for e in events] != [r[0] for r in rows]:
            bad_steps += 1
            continue
        bad_values += sum(not f32_equal(e.value, r[1]) for e, r in zip(events, rows))
        if check_wall:
            bad_wall += sum(e.wall_time != r[2] for e, r in zip(events, rows))
        walls = [e.wall_time for e in events]
        not_monotone += any(b < a for a, b in zip(walls, walls[1:]))
    total = sum(len(v) for v in by_tag.values())
    check(n == total, f"{label}: EventAccumulator holds {n} scalars, the CSV {total} rows")
    check(bad_steps == 0, f"{label}: every tag has the CSV's steps in order ({bad_steps} tags differ)")
    check(bad_values == 0, f"{label}: every value equals the CSV's at float32 precision ({bad_values} differ)")
    if check_wall:
        check(bad_wall == 0, f"{label}: every wall_time equals the CSV's ({bad_wall} differ)")
    check(not_monotone == 0, f"{label}: wall_time is non-decreasing for every tag")
    return acc


def raw_records(path):
    """Splits the TFRecord framing by hand and checks both masked CRCs with TensorBoard's function."""
    data = open(path, "rb").read()
    out, p, bad = [], 0, 0
    while p < len(data):
        header = data[p:p + 8]
        (length,) = struct.unpack("<Q", header)
        (len_crc,) = struct.unpack("<I", data[p + 8:p + 12])
        body = data[p + 12:p + 12 + length]
        (body_crc,) = struct.unpack("<I", data[p + 12 + length:p + 16 + length])
        bad += (masked_crc32c(header) != len_crc) + (masked_crc32c(body) != body_crc)
        out.append(body)
        p += 16 + length
    return out, bad, p == len(data)


def read_with_tensorboard(path):
    """The records as TensorBoard's event loader iterates them (it raises DataLossError on a bad CRC)."""
    return list(event_file_loader._make_tf_record_iterator(path))


def check_raw(run, rows, label):
    files = sorted(f for f in os.listdir(run) if f.startswith("events.out.tfevents."))
    check(len(files) == 1, f"{label}: one event file ({files})")
    path = os.path.join(run, files[0])
    records, bad_crc, exact = raw_records(path)
    check(exact and bad_crc == 0, f"{label}: {len(records)} records, framing ends exactly at EOF, "
                                  f"all {2 * len(records)} masked CRC-32Cs match TensorBoard's masked_crc32c")
    tb_records = read_with_tensorboard(path)
    check(tb_records == records, f"{label}: TensorBoard's record reader yields the same {len(tb_records)} records")
    events = [event_pb2.Event.FromString(r) for r in tb_records]
    check(events[0].file_version == "brain.Event:2", f"{label}: first event is file_version {events[0].file_version!r}")
    scalars = [e for e in events[1:] if e.HasField("summary")]
    check(len(scalars) == len(events) - 1 == len(rows),
          f"{label}: {len(scalars)} summary events, one per CSV row ({len(rows)})")
    ok = all(len(e.summary.value) == 1 and e.summary.value[0].tag == r["tag"] and e.step == int(r["step"])
             and e.summary.value[0].WhichOneof("value") == "simple_value"
             and f32_equal(e.summary.value[0].simple_value, float(r["value"]))
             and e.wall_time == float(r["wall_time"])
             for e, r in zip(scalars, rows))
    check(ok, f"{label}: event i is CSV row i (tag, step, simple_value, wall_time)")
    walls = [e.wall_time for e in events]
    check(all(b >= a for a, b in zip(walls, walls[1:])), f"{label}: wall_time non-decreasing over all {len(events)} events")

    # Corruption is detected by TensorBoard's reader (so the checks above are not vacuous).
    blob = bytearray(open(path, "rb").read())
    first_len = struct.unpack("<Q", blob[0:8])[0]
    for where, offset in (("data", 16 + first_len + 12 + 5), ("length", 16 + first_len + 1)):
        corrupt = path + ".corrupt"
        b = bytearray(blob)
        b[offset] ^= 0x40
        open(corrupt, "wb").write(b)
        try:
            read_with_tensorboard(corrupt)
            raised = False
        except tb_errors.DataLossError:
            raised = True
        os.remove(corrupt)
        check(raised, f"{label}: a flipped byte in record 2's {where} makes TensorBoard's reader raise DataLossError")


def strip_wall(rows):
    return [(r["step"], r["tag"], r["value"]) for r in rows]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        whole = os.path.join(tmp, "whole")
        progress = write_metrics(whole, STEPS)
        lines = [l for l in progress.replace("\r", "\n").split("\n") if l.strip()]
        check(1 <= len(lines) <= 11 and lines[-1].startswith(f"{STEPS}/{STEPS}  100.0%"),
              f"progress bar (stderr not a terminal): {len(lines)} lines, last {lines[-1]!r}")
        rows, by_tag = read_csv(whole)
        expected = (STEPS // EVERY + 1) * 8
        check(len(rows) == expected and len(by_tag) == 8, f"metrics.csv: {len(rows)} rows under {len(by_tag)} tags")
        check(os.path.exists(os.path.join(whole, "config.json")), "config.json written")
        compare_accumulator(whole, by_tag, "uninterrupted")
        check_raw(whole, rows, "uninterrupted")

        # A run that got to CUT, then is resumed from the checkpoint at RESUME.
        resumed = os.path.join(tmp, "resumed")
        write_metrics(resumed, STEPS, stop_at=CUT)
        write_metrics(resumed, STEPS, resume=RESUME)
        r_rows, r_by_tag = read_csv(resumed)
        check(strip_wall(r_rows) == strip_wall(rows),
              f"resumed: metrics.csv without wall_time equals the uninterrupted run's ({len(r_rows)} rows)")
        files = sorted(f for f in os.listdir(resumed) if f.startswith("events.out.tfevents."))
        check(len(files) == 2, f"resumed: a new event file per process ({files})")
        compare_accumulator(resumed, r_by_tag, "resumed (EventAccumulator over both files)")
        second = os.path.join(resumed, files[-1])
        ev = [event_pb2.Event.FromString(r) for r in read_with_tensorboard(second)]
        check(ev[1].HasField("session_log") and ev[1].session_log.status == event_pb2.SessionLog.START
              and ev[1].step == RESUME + 1,
              f"resumed: the new file's second event is SessionLog START at step {ev[1].step}")
        # A real training run: `switchgym train` on CartPole, read by TensorBoard.
        run = os.path.join(tmp, "train")
        r = subprocess.run([pyclient.switchgym_binary(), "train", "--env", "CartPole-v1", "--seed", "2",
                            "--steps", "4096", "--out", run, "--quiet"], capture_output=True, text=True)
        check(r.returncode == 0, f"switchgym train exited {r.returncode} {r.stderr.strip()[-200:]}")
        t_rows, t_by_tag = read_csv(run)
        for tag in ["charts/episodic_return", "charts/episodic_length", "charts/SPS", "losses/policy_loss",
                    "losses/value_loss", "losses/entropy", "losses/approx_kl"]:
            check(tag in t_by_tag, f"train: metrics.csv has {tag}")
        acc = compare_accumulator(run, t_by_tag, "train")
        returns = [e.value for e in acc.Scalars("charts/episodic_return")]
        check(len(returns) > 20 and max(returns) > 50, f"train: {len(returns)} episodic returns, best {max(returns) if returns else None}")
    if failures:
        pyclient.fail(f"{len(failures)} check(s) failed")
    print("PASS: check_tensorboard.py")


main()
