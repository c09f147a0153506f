#!/usr/bin/env python3
"""ONNX Runtime runs what `switchgym export --format onnx` writes, with the same decisions as
`switchgym act` on the safetensors export of the same checkpoint.

For two tiny trained policies, a family policy on envs/llm-zoo.toml (4 GPUs) (beam search, width 8)
and a moves policy on a 32-device copy of envs/vision-cluster.toml (both fleet counts 16):
  1. `switchgym train`, then `switchgym export` to safetensors and to ONNX;
  2. `onnx.checker.check_model(full_check=True)`; IR version, opset, inputs, output, dynamic batch
     and the policy document in metadata_props;
  2b. `switchgym.policy.verify_onnx` (the sha256 in metadata_props, then the golden cases in
     onnxruntime), the golden cases equal to the safetensors file's, the onnx package's
     re-serialization equal to the file, a flipped weight bit refused, naming the file, and a
     wrong golden action (the file re-signed) refused by the self-test;
  3. onnxruntime on 10,000 random valid observations (one-hot variants, some pending loads,
     random shared block) with random masks (every component allows at least one value;
     seeded) against `switchgym act`: every action equal, else each disagreement is reported
     with its score gap (numpy on the safetensors weights) and only near-ties (< 1e-4) pass;
  4. onnxruntime batch-1 and batch-1024 latency (printed).
Prints SKIP with the reason when PyPI is absent.
"""
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import policy_reference as pr  # noqa: E402  (switchgym.policy: verify_onnx)
import pyclient  # noqa: E402

pyclient.require(["numpy", "onnx", "onnxruntime"])
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402

CASES = 10_000
NEAR_TIE = 1e-4
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


# MARK: numpy reference (score gaps of disagreements only)

def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F32": np.float32, "U8": np.uint8, "I32": np.int32}[t["dtype"]]
        a, b = t["data_offsets"]
        tensors[name] = np.frombuffer(data[a:b], dtype=dtype).reshape(t["shape"])
    return header["__metadata__"], tensors


def mlp(doc, tensors, x):
    layers = len(doc["policy"]["network"]["sizes"]) - 1
    act = np.tanh if doc["policy"]["network"]["hidden_activation"] == "tanh" else (lambda v: np.maximum(v, 0))
    h = x.astype(np.float64)
    for i in range(layers):
        h = h @ tensors[f"actor.{i}.weight"].astype(np.float64).T + tensors[f"actor.{i}.bias"]
        if i < layers - 1:
            h = act(h)
    return h


def fleet(doc):
    f = doc["observation"]["family"]
    D, J = f["workers"], f["jobs"]
    K = len(f["class_names"])
    cls = f["worker_class"]
    n = [cls.count(k) for k in range(K)]
    return f, D, J, K, cls, n


def held_of(obs, D, J):
    blocks = obs[: D * (J + 1)].reshape(D, J + 1)
    return [int(np.argmax(b[:J] > 0.5)) for b in blocks], blocks[:, J]


def family_logprob(doc, tensors, obs, mask, action):
    """The joint log-probability of `action` (each device's log-softmax over its allowed values,
    conditional on the plan of the choices before it)."""
    f, D, J, K, cls, n = fleet(doc)
    held, _ = held_of(obs, D, J)
    shared = obs[f["shared_offset"]: f["shared_offset"] + f["shared_count"]]
    plan = np.zeros(K * J + K)
    for w in range(D):
        plan[cls[w] * J + held[w]] += 1 / n[cls[w]]
    total = 0.0
    for w in range(D):
        k = cls[w]
        row = np.concatenate([obs[w * (J + 1):(w + 1) * (J + 1)], np.eye(K)[k], plan, shared])
        z = mlp(doc, tensors, row[None])[0]
        z[held[w]] += doc["policy"]["stay_bias"]
        m = mask[w * J:(w + 1) * J]
        zs = z[m]
        lse = zs.max() + np.log(np.exp(zs - zs.max()).sum())
        total += z[action[w]] - lse
        plan[k * J + held[w]] -= 1 / n[k]
        plan[k * J + action[w]] += 1 / n[k]
        plan[K * J + k] += 1 / n[k]
    return total


def moves_margins(doc, tensors, obs, mask):
    """Per class, the gap between the best and second-best allowed option's score."""
    f, D, J, K, cls, n = fleet(doc)
    L = doc["policy"]["moves_levels"]
    held, pending = held_of(obs, D, J)
    x = np.zeros(K * (J + 1))
    movable = np.zeros((K, J, J))
    for w in range(D):
        k = cls[w]
        x[k * J + held[w]] += 1 / n[k]
        if pending[w] > 0:
            x[K * J + k] += 1 / n[k]
        else:
            for to in range(J):
                movable[k, held[w], to] += mask[w * J + to]
    x = np.concatenate([x, obs[f["shared_offset"]: f["shared_offset"] + f["shared_count"]]])
    z = mlp(doc, tensors, x[None])[0]
    O = 1 + J * J * L
    gaps = []
    for k in range(K):
        allowed = [0] + [o for o in range(1, O)
                         if ((o - 1) // L) // J != ((o - 1) // L) % J
                         and movable[k, ((o - 1) // L) // J, ((o - 1) // L) % J] >= 2 ** ((o - 1) % L)]
        s = np.sort(z[k * O + np.array(allowed)])[::-1]
        gaps.append(s[0] - s[1] if len(s) > 1 else np.inf)
    return gaps


def decision_margin(doc, tensors, obs, mask):
    """The smallest gap between the best and second-best allowed score of a component (mlp),
    or of a device in greedy decoding (family, beam width 1)."""
    if doc["policy"]["kind"] == "mlp":
        z = mlp(doc, tensors, obs[None])[0]
        rows, o = [], 0
        for n in doc["action"]["components"]:
            rows.append((z[o:o + n], mask[o:o + n]))
            o += n
    else:
        f, D, J, K, cls, n = fleet(doc)
        held, _ = held_of(obs, D, J)
        shared = obs[f["shared_offset"]: f["shared_offset"] + f["shared_count"]]
        plan = np.zeros(K * J + K)
        for w in range(D):
            plan[cls[w] * J + held[w]] += 1 / n[cls[w]]
        rows = []
        for w in range(D):
            k = cls[w]
            z = mlp(doc, tensors, np.concatenate([obs[w * (J + 1):(w + 1) * (J + 1)], np.eye(K)[k], plan, shared])[None])[0]
            z[held[w]] += doc["policy"]["stay_bias"]
            m = mask[w * J:(w + 1) * J]
            rows.append((z, m))
            j = int(np.flatnonzero(m)[np.argmax(z[m])])
            plan[k * J + held[w]] -= 1 / n[k]
            plan[k * J + j] += 1 / n[k]
            plan[K * J + k] += 1 / n[k]
    gaps = []
    for z, m in rows:
        s = np.sort(z[m])[::-1]
        gaps.append(s[0] - s[1] if len(s) > 1 else np.inf)
    return min(gaps)


# MARK: random cases

def random_cases(doc, count, seed):
    rng = np.random.default_rng(seed)
    f, D, J, K, cls, n = fleet(doc)
    dim = doc["observation"]["dimension"]
    obs = np.zeros((count, dim), dtype=np.float32)
    held = rng.integers(0, J, size=(count, D))
    for w in range(D):
        obs[np.arange(count), w * (J + 1) + held[:, w]] = 1
        loading = rng.random(count) < 0.3
        obs[:, w * (J + 1) + J] = np.where(loading, rng.random(count) * 3, 0).astype(np.float32)
    so, sc = f["shared_offset"], f["shared_count"]
    obs[:, so:so + sc - 1] = (rng.random((count, sc - 1)) * 3).astype(np.float32)
    obs[:, so + sc - 1] = rng.random(count).astype(np.float32)   # the elapsed fraction
    mask = rng.random((count, D * J)) < 0.7
    for w in range(D):
        # Each device may keep its variant (as the env's masks), or in a quarter of the
        # cases only some random value is sure to be allowed.
        keep = np.where(rng.random(count) < 0.75, held[:, w], rng.integers(0, J, size=count))
        mask[np.arange(count), w * J + keep] = True
    return obs, mask


# MARK: the check

def write_csv(path, rows, fmt):
    with open(path, "w") as f:
        for r in rows:
            f.write(",".join(fmt(v) for v in r) + "\n")


def latency(session, obs, mask, batch, repeats):
    feed = {"observation": obs[:batch], "mask": mask[:batch]}
    for _ in range(5):
        session.run(["action"], feed)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        session.run(["action"], feed)
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2], times[min(len(times) - 1, len(times) * 99 // 100)]


def train(tmp, label, env, steps, **config):
    run = os.path.join(tmp, label)
    cfg = os.path.join(tmp, f"{label}.json")
    with open(cfg, "w") as f:
        json.dump(dict({"n_envs": 2, "n_steps": 256, "batch_size": 128, "n_epochs": 2, "net_arch": [64, 64]}, **config), f)
    pyclient.run(["train", "--env", env, "--steps", str(steps), "--seed", "1", "-o", run, "--quiet", "--config", cfg])
    return run


def verify_onnx_form(tmp, label, ox, model, tensors):
    """The ONNX form's own load-time checks: `verify_onnx` (sha256, then the golden cases in
    onnxruntime), the golden cases against the safetensors file's, the onnx package's
    re-serialization against the file, one flipped weight bit refused, naming the file, and a
    re-signed file with a wrong golden action refused by the self-test."""
    verified = pr.verify_onnx(ox, self_test=True)
    sha = verified.metadata["sha256"]
    check(verified.self_tested, f"{label}: verify_onnx: sha256 {sha[:12]}… matches the content, and the "
          f"{len(verified.golden[0])} golden cases in metadata_props reproduce in ONNX Runtime (self-test)")
    g_obs, g_mask, g_act = verified.golden
    check(np.array_equal(g_obs, tensors["golden.observation"]) and np.array_equal(g_mask, tensors["golden.mask"] != 0)
          and np.array_equal(g_act, tensors["golden.action"]),
          f"{label}: the ONNX golden cases are the safetensors file's")
    # The onnx package re-serializes the file exactly (known fields in field-number order, as
    # swift-protobuf writes them), so a reader may also recompute the checksum from a parsed model.
    with open(ox, "rb") as f:
        raw = f.read()
    graph = next(raw[p:e] for n, w, _, p, e in pr._proto_fields(raw, ox) if n == 7)
    unsigned = onnx.ModelProto()
    unsigned.CopyFrom(model)
    keep = [(e.key, e.value) for e in unsigned.metadata_props if e.key != "sha256"]
    del unsigned.metadata_props[:]
    for k, v in keep:
        unsigned.metadata_props.add(key=k, value=v)
    check(model.SerializeToString() == raw and model.graph.SerializeToString() == graph
          and hashlib.sha256(unsigned.SerializeToString()).hexdigest() == sha,
          f"{label}: onnx re-serializes the file byte for byte; the checksum recomputes from the parsed model too")
    # A test that fails if the checksum covered nothing: one flipped bit in the first weight.
    w0 = next(t for t in model.graph.initializer if t.name.startswith("actor_0_weight_t"))
    at = raw.find(w0.raw_data) + len(w0.raw_data) // 2
    tampered = os.path.join(tmp, f"{label}.tampered.onnx")
    with open(tampered, "wb") as f:
        f.write(raw[:at] + bytes([raw[at] ^ 1]) + raw[at + 1:])
    try:
        pr.verify_onnx(tampered, self_test=False)
        check(False, f"{label}: verify_onnx refuses a file with one weight bit flipped")
    except pr.PolicyError as e:
        check(str(e).startswith(f"{tampered}: checksum mismatch"), f"{label}: one flipped weight bit is refused: {str(e)[:90]}…")
    # The self-test: a golden action changed and the file re-signed passes the checksum, not the self-test.
    golden = json.loads(verified.metadata["golden"])
    golden["action"][0] = (golden["action"][0] + 1) % verified.document["action"]["components"][0]
    for e in unsigned.metadata_props:
        if e.key == "golden":
            e.value = json.dumps(golden, sort_keys=True, separators=(",", ":"))
    resigned = unsigned.SerializeToString()
    entry = onnx.StringStringEntryProto(key="sha256", value=hashlib.sha256(resigned).hexdigest()).SerializeToString()
    wrong = os.path.join(tmp, f"{label}.wrong-golden.onnx")
    with open(wrong, "wb") as f:
        f.write(resigned + bytes([0x72, len(entry)]) + entry)
    try:
        pr.verify_onnx(wrong, self_test=True)
        check(False, f"{label}: verify_onnx refuses a re-signed file with a wrong golden action")
    except pr.PolicyError as e:
        check(str(e).startswith(f"{wrong}: self-test case 0 of"), f"{label}: a wrong golden action (re-signed) fails the self-test: {str(e)[:90]}…")


def check_policy(tmp, label, run, kind, export=()):
    st, ox = os.path.join(tmp, f"{label}.safetensors"), os.path.join(tmp, f"{label}.onnx")
    pyclient.run(["export", run, "-o", st] + list(export))
    pyclient.run(["export", run, "--format", "onnx", "-o", ox] + list(export))
    model = onnx.load(ox)
    onnx.checker.check_model(model, full_check=True)
    check(True, f"{label}: onnx.checker.check_model(full_check=True) passes ({os.path.getsize(ox)} bytes, {len(model.graph.node)} nodes)")
    check(model.ir_version == 8 and [(o.domain, o.version) for o in model.opset_import] == [("", 17)],
          f"{label}: IR version {model.ir_version}, opset {[(o.domain, o.version) for o in model.opset_import]}")
    meta = {p.key: p.value for p in model.metadata_props}
    metadata, tensors = read_safetensors(st)
    doc = json.loads(metadata["policy"])
    check(json.loads(meta.get("policy", "null")) == doc and meta.get("format") == "switchgym.policy",
          f"{label}: metadata_props carry the policy document of the safetensors export")
    check(doc["policy"]["kind"] == kind, f"{label}: a {doc['policy']['kind']} policy (beam {doc['policy']['beam_width']})")
    dim, width, comps = doc["observation"]["dimension"], doc["action"]["mask_width"], len(doc["action"]["components"])

    def shape(v):
        return [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
    g = model.graph
    check([(i.name, i.type.tensor_type.elem_type, shape(i)) for i in g.input]
          == [("observation", onnx.TensorProto.FLOAT, ["batch", dim]), ("mask", onnx.TensorProto.BOOL, ["batch", width])]
          and [(o.name, o.type.tensor_type.elem_type, shape(o)) for o in g.output]
          == [("action", onnx.TensorProto.INT64, ["batch", comps])],
          f"{label}: inputs observation float[batch,{dim}], mask bool[batch,{width}]; output action int64[batch,{comps}]")

    # The load-time checks of the ONNX form alone (switchgym.policy.verify_onnx): the sha256 in
    # metadata_props, then the golden cases in ONNX Runtime.
    try:
        verify_onnx_form(tmp, label, ox, model, tensors)
    except pr.PolicyError as e:
        check(False, f"{label}: verify_onnx: {e}")

    obs, mask = random_cases(doc, CASES, seed=7)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(ox, options, providers=["CPUExecutionProvider"])
    got = session.run(["action"], {"observation": obs, "mask": mask})[0]
    obs_csv, mask_csv = os.path.join(tmp, f"{label}.obs.csv"), os.path.join(tmp, f"{label}.mask.csv")
    write_csv(obs_csv, obs.tolist(), lambda v: "%.9g" % v)
    write_csv(mask_csv, mask.astype(np.uint8).tolist(), str)
    r = subprocess.run([pyclient.switchgym_binary(), "act", st, "--input", obs_csv, "--mask", mask_csv],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pyclient.fail(f"switchgym act exited {r.returncode}:\n{r.stderr}")
    want = np.array([[int(v) for v in line.split(",")] for line in r.stdout.splitlines() if line], dtype=np.int64)
    check(want.shape == got.shape, f"{label}: act gave {want.shape[0]} actions for {CASES} observations")
    bad = np.nonzero((got != want).any(axis=1))[0]
    gaps = []
    for i in bad:
        if kind == "family" and doc["policy"]["beam_width"] > 1:
            gap = abs(family_logprob(doc, tensors, obs[i], mask[i], got[i]) - family_logprob(doc, tensors, obs[i], mask[i], want[i]))
        elif kind == "moves":
            gap = min(moves_margins(doc, tensors, obs[i], mask[i]))
        else:
            gap = decision_margin(doc, tensors, obs[i], mask[i])
        gaps.append(gap)
        print(f"     case {i}: onnxruntime {got[i].tolist()}, switchgym act {want[i].tolist()}, score gap {gap:.3g}")
    check(all(gap < NEAR_TIE for gap in gaps),
          f"{label}: onnxruntime agrees with switchgym act on {CASES - len(bad)}/{CASES} random observations"
          + (f"; the {len(bad)} others are near-ties (largest gap {max(gaps):.3g})" if len(bad) else ""))
    check(len({tuple(a) for a in want.tolist()}) > 1, f"{label}: the policy gives {len({tuple(a) for a in want.tolist()})} different actions")
    act_latency = re.search(r"p50 ([0-9.]+) µs, p99 ([0-9.]+) µs", r.stderr)
    p50, p99 = latency(session, obs, mask, 1, 2000)
    b50, b99 = latency(session, obs, mask, 1024, 50)
    print(f"     latency, onnxruntime 1 thread: batch 1 p50 {p50 * 1e6:.1f} µs, p99 {p99 * 1e6:.1f} µs; "
          f"batch 1024 p50 {b50 * 1e3:.2f} ms ({b50 / 1024 * 1e6:.2f} µs per observation), p99 {b99 * 1e3:.2f} ms"
          + (f"; switchgym act batch 1 p50 {act_latency.group(1)} µs, p99 {act_latency.group(2)} µs" if act_latency else ""))


def main():
    with tempfile.TemporaryDirectory(prefix="switchgym-onnx-") as tmp:
        # A 32-device copy of vision-cluster (16 + 16): a moves policy under policy = auto.
        with open(os.path.join(pyclient.ROOT, "envs", "vision-cluster.toml")) as f:
            text = f.read()
        text = text.replace("count = 32", "count = 16")
        text = text.replace('"../datasets/', '"' + os.path.join(pyclient.ROOT, "datasets") + "/")
        cluster = os.path.join(tmp, "vision-cluster-32.toml")
        with open(cluster, "w") as f:
            f.write(text)
        zoo = os.path.join(pyclient.ROOT, "envs", "llm-zoo.toml")
        family = train(tmp, "llm-zoo", zoo, 4096)
        check_policy(tmp, "llm-zoo", family, "family")                                      # beam search, width 8
        check_policy(tmp, "llm-zoo-greedy", family, "family", ["--beam-width", "1"])
        check_policy(tmp, "llm-zoo-mlp", train(tmp, "llm-zoo-mlp", zoo, 4096, policy="mlp"), "mlp")
        check_policy(tmp, "vision-cluster-32", train(tmp, "vision-cluster-32", cluster, 4096), "moves")
    if failures:
        pyclient.fail(f"{len(failures)} check(s) failed")
    print("check_onnx: all checks passed")


if __name__ == "__main__":
    main()
