"""SwitchGym policy files from Python: the numpy reference reader (docs/policy-format.md, format
version 1), and evaluation of a frozen policy on a Gymnasium env.

    from switchgym.policy import load_policy, evaluate_policy
    policy = load_policy("policy.safetensors")    # verifies sha256, shapes and the self-test
    actions = policy.act(obs, mask)               # obs [N, dimension] (or [dimension]); mask [N, mask_width] or None
    mean, std = evaluate_policy(policy, switchgym.make("CartPole-v1"), n_eval_episodes=20, seed=0)

A checkpoint's policy is evaluated from its exported file: `switchgym export RUN/best.h5 --format
safetensors -o policy.safetensors`. `act` is batched over observations (the family beam search
too) and returns int32 [N, components] (or [components] for one observation). Everything is
float32, as the other runtimes.

A serving policy acts on observations scaled with the normalisation of the env it was trained
in (`document["observation"]["normalization"]`); evaluate it on an env built from the same
scenario and training trace (as `switchgym train` built it), or the observations differ.

Also here, for tests: `write(path, document, layers, golden)` writes a policy file (computing its
sha256), `random_policy(...)` a policy with random weights whose golden actions come from this
reference, and `random_inputs(policy, n, rng)` valid random observations and masks.

`verify_onnx(path)` checks the ONNX form (`--format onnx`): its sha256 and, with onnxruntime, its
golden cases.

Reading needs only numpy (the safetensors layout and the ONNX file's top-level protobuf fields are
parsed here); `write` needs safetensors, the ONNX self-test onnxruntime.
Scripts/policy_reference.py is this module under its old name (a shim), for the cross-runtime checks.
This module imports nothing else from the package, so the shim loads it without gymnasium.
"""
import hashlib
import json
import struct

import numpy as np

FORMAT = "switchgym.policy"


class PolicyError(Exception):
    pass


class Policy:
    """A loaded policy: the document, the layers [(W, b)], and the derived layout."""

    def __init__(self, document, layers):
        self.document = document
        self.layers = layers
        p = document["policy"]
        self.kind = p["kind"]
        self.relu = p["network"]["hidden_activation"] == "relu"
        self.sizes = p["network"]["sizes"]
        self.stay_bias = np.float32(p.get("stay_bias") or 0) if self.kind == "family" else np.float32(0)
        self.beam = int(p.get("beam_width") or 1) if self.kind == "family" else 1
        self.levels = p.get("moves_levels")
        self.dimension = document["observation"]["dimension"]
        self.components = list(document["action"]["components"])
        self.mask_width = document["action"]["mask_width"]
        fam = document["observation"].get("family")
        if self.kind != "mlp":
            if not fam:
                raise PolicyError(f"a {self.kind} policy needs observation.family")
            self.D, self.J = fam["workers"], fam["jobs"]
            self.K = len(fam["class_names"])
            self.worker_class = np.asarray(fam["worker_class"], dtype=np.int64)
            self.shared_offset, self.shared_count = fam["shared_offset"], fam["shared_count"]
            n = np.bincount(self.worker_class, minlength=self.K)
            with np.errstate(divide="ignore"):
                self.inv = np.where(n > 0, np.float32(1) / n.astype(np.float32), np.float32(0)).astype(np.float32)
            self.inv_moves = (np.float32(1) / np.maximum(n, 1).astype(np.float32)).astype(np.float32)

    def act(self, obs, mask=None):
        """Greedy actions (see the module function `act`)."""
        return act(self, obs, mask)

    def predict(self, observation, state=None, episode_start=None, deterministic=True, action_masks=None):
        """Stable-Baselines3's `predict` shape: `(actions, None)`; always greedy."""
        return act(self, observation, action_masks), None

    # The network ------------------------------------------------------------------------------
    def forward(self, x):
        x = np.asarray(x, dtype=np.float32)
        for i, (W, b) in enumerate(self.layers):
            x = (x @ W.T + b).astype(np.float32)
            if i < len(self.layers) - 1:
                x = np.maximum(x, np.float32(0)) if self.relu else np.tanh(x)
        return x


def _masked_argmax(z, m):
    """First index of the maximum over allowed entries, per row (z, m: [N, n])."""
    zz = np.where(m, z, -np.inf)
    return np.argmax(zz, axis=1)


def _check_masks(policy, mask):
    offs = np.cumsum([0] + policy.components)
    for c in range(len(policy.components)):
        bad = ~mask[:, offs[c]:offs[c + 1]].any(axis=1)
        if bad.any():
            raise PolicyError(f"mask component {c} allows no value (observation {int(np.argmax(bad))})")


def act(policy, obs, mask=None):
    """Actions of `policy` for observations `obs` ([N, dim] or [dim]) under masks (bool/0-1, or None)."""
    obs = np.asarray(obs, dtype=np.float32)
    single = obs.ndim == 1
    obs = obs.reshape(-1, policy.dimension)
    N = obs.shape[0]
    if mask is None:
        mask = np.ones((N, policy.mask_width), dtype=bool)
    else:
        mask = np.asarray(mask).reshape(N, policy.mask_width) != 0
    _check_masks(policy, mask)
    if policy.kind == "mlp":
        z = policy.forward(obs)
        offs = np.cumsum([0] + policy.components)
        out = np.stack([_masked_argmax(z[:, offs[c]:offs[c + 1]], mask[:, offs[c]:offs[c + 1]])
                        for c in range(len(policy.components))], axis=1)
    elif policy.kind == "family":
        out = _family(policy, obs, mask)
    elif policy.kind == "moves":
        out = _moves(policy, obs, mask)
    else:
        raise PolicyError(f"unknown kind {policy.kind}")
    out = out.astype(np.int32)
    return out[0] if single else out


def _held(policy, obs):
    J = policy.J
    blocks = obs[:, :policy.D * (J + 1)].reshape(obs.shape[0], policy.D, J + 1)[:, :, :J]
    hot = blocks > np.float32(0.5)
    return np.where(hot.any(axis=2), np.argmax(hot, axis=2), 0)  # [N, D]


def _start_plan(policy, held):
    N = held.shape[0]
    J, K = policy.J, policy.K
    plan = np.zeros((N, K * J + K), dtype=np.float32)
    for w in range(policy.D):  # device order, as the other runtimes (float sums)
        k = policy.worker_class[w]
        plan[np.arange(N), k * J + held[:, w]] += policy.inv[k]
    return plan


def _rows(policy, obs, w, plan):
    """Device w's rows under `plan` ([..., ps]; obs [N, dim] broadcast over the middle axes)."""
    J, K = policy.J, policy.K
    lead = plan.shape[:-1]
    N = obs.shape[0]
    dev = obs[:, w * (J + 1):(w + 1) * (J + 1)]
    shared = obs[:, policy.shared_offset:policy.shared_offset + policy.shared_count]
    onehot = np.zeros((N, K), dtype=np.float32)
    onehot[:, policy.worker_class[w]] = 1
    extra = (1,) * (len(lead) - 1)
    parts = [np.broadcast_to(x.reshape((N,) + extra + (x.shape[1],)), lead + (x.shape[1],)) for x in (dev, onehot)]
    sh = np.broadcast_to(shared.reshape((N,) + extra + (shared.shape[1],)), lead + (shared.shape[1],))
    return np.concatenate(parts + [plan, sh], axis=-1).astype(np.float32)


def _advance(policy, plan, w, held_w, choice):
    """plan [..., ps]; held_w and choice broadcast to plan.shape[:-1]."""
    J, K = policy.J, policy.K
    k = policy.worker_class[w]
    x = policy.inv[k]
    idx = np.indices(plan.shape[:-1])
    plan[tuple(idx) + (k * J + held_w,)] -= x
    plan[tuple(idx) + (k * J + choice,)] += x
    plan[..., K * J + k] += x


def _family(policy, obs, mask):
    N, J, D, B = obs.shape[0], policy.J, policy.D, policy.beam
    held = _held(policy, obs)
    plan = _start_plan(policy, held)
    rN = np.arange(N)
    if B == 1:
        out = np.zeros((N, D), dtype=np.int64)
        for w in range(D):
            z = policy.forward(_rows(policy, obs, w, plan))
            z[rN, held[:, w]] += policy.stay_bias
            c = _masked_argmax(z, mask[:, w * J:(w + 1) * J])
            out[:, w] = c
            _advance(policy, plan, w, held[:, w], c)
        return out
    # Beam search: B beams per observation, dead ones scored -inf.
    plans = np.repeat(plan[:, None, :], B, axis=1)          # [N, B, ps]
    scores = np.full((N, B), -np.inf, dtype=np.float32)
    scores[:, 0] = 0
    picks = np.zeros((N, B, D), dtype=np.int64)
    for w in range(D):
        z = policy.forward(_rows(policy, obs, w, plans))      # [N, B, J]
        z[rN, :, held[:, w]] += policy.stay_bias
        m = mask[:, None, w * J:(w + 1) * J]                  # [N, 1, J]
        zm = np.where(m, z, -np.inf).astype(np.float32)
        mx = zm.max(axis=2, keepdims=True)
        s = np.where(m, np.exp(z - mx), np.float32(0)).astype(np.float32).sum(axis=2, keepdims=True, dtype=np.float32)
        lse = (mx + np.log(s)).astype(np.float32)
        cand = np.where(m, scores[:, :, None] + (z - lse), -np.inf).astype(np.float32).reshape(N, B * J)
        order = np.argsort(-cand, axis=1, kind="stable")[:, :B]   # best first, smallest index on ties
        best = np.take_along_axis(cand, order, axis=1)
        parent, j = order // J, order % J
        plans = np.take_along_axis(plans, parent[:, :, None], axis=1).copy()
        picks = np.take_along_axis(picks, parent[:, :, None], axis=1).copy()
        picks[:, :, w] = j
        _advance(policy, plans, w, np.broadcast_to(held[:, w, None], (N, B)), j)
        scores = np.where(np.isfinite(best), best, -np.inf).astype(np.float32)
    return picks[:, 0, :]


def _moves(policy, obs, mask):
    N, V, K, L, D = obs.shape[0], policy.J, policy.K, policy.levels, policy.D
    opts = 1 + V * V * L
    held = _held(policy, obs)
    idle = obs[:, np.arange(D) * (V + 1) + V] <= 0          # [N, D]
    rN = np.arange(N)
    x = np.zeros((N, K * (V + 1)), dtype=np.float32)
    for w in range(D):
        k = policy.worker_class[w]
        x[rN, k * V + held[:, w]] += policy.inv_moves[k]
        x[:, K * V + k] += np.where(idle[:, w], np.float32(0), policy.inv_moves[k])
    x = np.concatenate([x, obs[:, policy.shared_offset:policy.shared_offset + policy.shared_count]], axis=1)
    fm = mask.reshape(N, D, V)
    cmask = np.zeros((N, K, opts), dtype=bool)
    cmask[:, :, 0] = True
    for k in range(K):
        devs = np.nonzero(policy.worker_class == k)[0]
        movable = np.zeros((N, V, V), dtype=np.int64)
        for w in devs:
            movable[rN, held[:, w], :] += (fm[:, w, :] & idle[:, w, None]).astype(np.int64)
        movable[:, np.arange(V), np.arange(V)] = 0
        for lv in range(L):
            cmask[:, k, 1 + np.arange(V * V) * L + lv] = (movable.reshape(N, V * V) >= (1 << lv))
    z = policy.forward(x).reshape(N, K, opts)
    choice = np.stack([_masked_argmax(z[:, k, :], cmask[:, k, :]) for k in range(K)], axis=1)
    out = held.copy()
    for k in range(K):
        devs = np.nonzero(policy.worker_class == k)[0]
        opt = choice[:, k]
        xo = np.maximum(opt - 1, 0)
        level, pair = xo % L, xo // L
        frm, to = pair // V, pair % V
        left = np.where((opt > 0) & (frm != to), 1 << level, 0)
        for w in devs:
            ok = (left > 0) & (out[:, w] == frm) & idle[:, w] & fm[rN, w, to]
            out[ok, w] = to[ok]
            left = left - ok
    return out


def margins(policy, obs, mask=None):
    """Per observation, how far its decision (as this reference takes it) is from changing: the
    smallest gap between a chosen score and the best other allowed one (mlp, greedy family,
    moves), or, for the beam search, the smallest gap between neighbouring candidate scores
    among the B + 1 best at any device. A disagreement between runtimes is a near-tie when this
    is below about 1e-4 (golden cases are kept at >= 1e-4)."""
    obs = np.asarray(obs, dtype=np.float32).reshape(-1, policy.dimension)
    N = obs.shape[0]
    mask = np.ones((N, policy.mask_width), bool) if mask is None else np.asarray(mask).reshape(N, -1) != 0

    def gap(z, m):
        zz = np.where(m, z, -np.inf)
        top = np.sort(zz, axis=1)[:, ::-1]
        g = top[:, 0] - top[:, 1] if zz.shape[1] > 1 else np.full(zz.shape[0], np.inf)
        return np.where(np.isfinite(g), g, np.inf)

    if policy.kind == "mlp":
        z = policy.forward(obs)
        offs = np.cumsum([0] + policy.components)
        return np.min([gap(z[:, offs[c]:offs[c + 1]], mask[:, offs[c]:offs[c + 1]])
                       for c in range(len(policy.components))], axis=0)
    if policy.kind == "moves":
        # The class scores of the reference's own pass, recomputed for the gaps.
        out = np.full(N, np.inf)
        V, K, L = policy.J, policy.K, policy.levels
        opts = 1 + V * V * L
        held = _held(policy, obs)
        idle = obs[:, np.arange(policy.D) * (V + 1) + V] <= 0
        rN = np.arange(N)
        x = np.zeros((N, K * (V + 1)), dtype=np.float32)
        for w in range(policy.D):
            k = policy.worker_class[w]
            x[rN, k * V + held[:, w]] += policy.inv_moves[k]
            x[:, K * V + k] += np.where(idle[:, w], np.float32(0), policy.inv_moves[k])
        x = np.concatenate([x, obs[:, policy.shared_offset:policy.shared_offset + policy.shared_count]], axis=1)
        z = policy.forward(x).reshape(N, K, opts)
        fm = mask.reshape(N, policy.D, V)
        for k in range(K):
            movable = np.zeros((N, V, V), dtype=np.int64)
            for w in np.nonzero(policy.worker_class == k)[0]:
                movable[rN, held[:, w], :] += (fm[:, w, :] & idle[:, w, None]).astype(np.int64)
            movable[:, np.arange(V), np.arange(V)] = 0
            cm = np.zeros((N, opts), bool)
            cm[:, 0] = True
            for lv in range(L):
                cm[:, 1 + np.arange(V * V) * L + lv] = movable.reshape(N, V * V) >= (1 << lv)
            out = np.minimum(out, gap(z[:, k, :], cm))
        return out
    # family: replay the decoding, recording gaps
    J, D, B = policy.J, policy.D, policy.beam
    held = _held(policy, obs)
    plan = _start_plan(policy, held)
    rN = np.arange(N)
    out = np.full(N, np.inf)
    if B == 1:
        for w in range(D):
            z = policy.forward(_rows(policy, obs, w, plan))
            z[rN, held[:, w]] += policy.stay_bias
            m = mask[:, w * J:(w + 1) * J]
            out = np.minimum(out, gap(z, m))
            c = _masked_argmax(z, m)
            _advance(policy, plan, w, held[:, w], c)
        return out
    plans = np.repeat(plan[:, None, :], B, axis=1)
    scores = np.full((N, B), -np.inf, dtype=np.float32)
    scores[:, 0] = 0
    for w in range(D):
        z = policy.forward(_rows(policy, obs, w, plans))
        z[rN, :, held[:, w]] += policy.stay_bias
        m = mask[:, None, w * J:(w + 1) * J]
        zm = np.where(m, z, -np.inf).astype(np.float32)
        mx = zm.max(axis=2, keepdims=True)
        s = np.where(m, np.exp(z - mx), np.float32(0)).astype(np.float32).sum(axis=2, keepdims=True, dtype=np.float32)
        lse = (mx + np.log(s)).astype(np.float32)
        cand = np.where(m, scores[:, :, None] + (z - lse), -np.inf).astype(np.float32).reshape(N, B * J)
        srt = -np.sort(-cand, axis=1)[:, :B + 1]
        with np.errstate(invalid="ignore"):
            d = srt[:, :-1] - srt[:, 1:]
        d = np.where(np.isfinite(srt[:, 1:]), d, np.inf)
        out = np.minimum(out, d.min(axis=1))
        order = np.argsort(-cand, axis=1, kind="stable")[:, :B]
        best = np.take_along_axis(cand, order, axis=1)
        parent, j = order // J, order % J
        plans = np.take_along_axis(plans, parent[:, :, None], axis=1).copy()
        _advance(policy, plans, w, np.broadcast_to(held[:, w, None], (N, B)), j)
        scores = np.where(np.isfinite(best), best, -np.inf).astype(np.float32)
    return out


# Reading -------------------------------------------------------------------------------------

def load(path, self_test=True):
    """Reads and verifies a policy file: sha256, format, shapes, then the self-test.

    Raises `PolicyError` naming the file and what is wrong (and `OSError` when the file cannot
    be read)."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        return _load(raw, self_test)
    except PolicyError as e:
        raise PolicyError(f"{path}: {e}") from None


def _load(raw, self_test):
    if len(raw) < 8:
        raise PolicyError("file too short")
    n = struct.unpack("<Q", raw[:8])[0]
    if n > 100_000_000 or 8 + n > len(raw):
        raise PolicyError(f"header length {n} runs past the end of the file")
    meta, tensors = _read_safetensors(raw, n)
    names = set(tensors)
    if meta.get("format") != FORMAT:
        raise PolicyError(f"not a SwitchGym policy file (format {meta.get('format')!r})")
    text = meta.get("policy")
    if text is None or "sha256" not in meta:
        raise PolicyError("__metadata__ lacks the policy document or its sha256")
    actual = hashlib.sha256(raw[8 + n:] + text.encode("utf-8")).hexdigest()
    if actual != meta["sha256"]:
        raise PolicyError(f"checksum mismatch: the file says {meta['sha256']}, its content hashes to {actual}")
    if meta.get("format_version") != "1":
        raise PolicyError(f"format_version {meta.get('format_version')!r}; this reader reads version 1")
    doc = json.loads(text)
    if doc.get("format") != FORMAT or doc.get("format_version") != 1:
        raise PolicyError("policy document: not format switchgym.policy version 1")
    sizes = doc["policy"]["network"]["sizes"]
    G = doc["golden_count"]
    want = {}
    for l in range(len(sizes) - 1):
        want[f"actor.{l}.weight"] = (np.float32, (sizes[l + 1], sizes[l]))
        want[f"actor.{l}.bias"] = (np.float32, (sizes[l + 1],))
    want["golden.observation"] = (np.float32, (G, doc["observation"]["dimension"]))
    want["golden.mask"] = (np.uint8, (G, doc["action"]["mask_width"]))
    want["golden.action"] = (np.int32, (G, len(doc["action"]["components"])))
    if names != set(want):
        raise PolicyError(f"tensors {sorted(names ^ set(want))} missing or unexpected")
    for k, (dt, shape) in want.items():
        t = tensors[k]
        if t.dtype != dt or tuple(t.shape) != shape:
            raise PolicyError(f"tensor {k}: {t.dtype} {list(t.shape)}, expected {np.dtype(dt)} {list(shape)}")
    layers = [(tensors[f"actor.{l}.weight"], tensors[f"actor.{l}.bias"]) for l in range(len(sizes) - 1)]
    policy = Policy(doc, layers)
    _check_document(policy)
    if self_test and G > 0:
        got = act(policy, tensors["golden.observation"], tensors["golden.mask"])
        bad = np.nonzero((got != tensors["golden.action"]).any(axis=1))[0]
        if len(bad):
            i = int(bad[0])
            raise PolicyError(f"self-test case {i}: action {got[i].tolist()} expected {tensors['golden.action'][i].tolist()}")
    return policy


_DTYPES = {"F32": np.float32, "F64": np.float64, "U8": np.uint8, "BOOL": np.bool_, "I32": np.int32, "I64": np.int64,
           "U32": np.uint32, "U64": np.uint64, "I8": np.int8, "I16": np.int16, "U16": np.uint16, "F16": np.float16}


def _read_safetensors(raw, n):
    """(metadata, {name: array}) of a safetensors file's bytes `raw` whose header is `n` bytes."""
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PolicyError(f"the safetensors header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise PolicyError("the safetensors header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    data = memoryview(raw)[8 + n:]
    tensors = {}
    for name, info in header.items():
        try:
            dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
            shape = tuple(int(d) for d in info["shape"])
            start, end = (int(x) for x in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise PolicyError(f"tensor {name}: malformed header entry {info!r}") from None
        count = int(np.prod(shape, dtype=np.int64))
        if not 0 <= start <= end <= len(data) or end - start != count * dtype.itemsize:
            raise PolicyError(f"tensor {name}: data_offsets [{start}, {end}] do not fit {info['dtype']} {list(shape)} "
                              f"in {len(data)} data bytes")
        tensors[name] = np.frombuffer(data[start:end], dtype=dtype).astype(dtype.newbyteorder("="), copy=True).reshape(shape)
    return meta, tensors


def _check_document(p):
    if sum(p.components) != p.mask_width:
        raise PolicyError("action.mask_width is not the sum of action.components")
    s = p.sizes
    if p.kind == "mlp":
        ok = s[0] == p.dimension and s[-1] == p.mask_width
    else:
        ok = p.components == [p.J] * p.D and p.shared_offset >= p.D * (p.J + 1) \
            and p.shared_offset + p.shared_count <= p.dimension
        G, J, K = p.shared_count, p.J, p.K
        if p.kind == "family":
            ok = ok and s[0] == J + 1 + K + K * J + K + G and s[-1] == J
        else:
            ok = ok and s[0] == K * (J + 1) + G and s[-1] == K * (1 + J * J * p.levels)
    if not ok:
        raise PolicyError("the document's sizes contradict each other")


# The ONNX form -------------------------------------------------------------------------------

class OnnxPolicy:
    """A verified ONNX policy (`verify_onnx`): its `metadata` (the `metadata_props`, in order),
    the policy `document`, the `golden` cases (observations float32 [G, dimension], masks bool
    [G, mask_width], actions int64 [G, components]), and whether the self-test ran (`self_tested`)."""

    def __init__(self, path, metadata, document, golden, self_tested):
        self.path = path
        self.metadata = metadata
        self.document = document
        self.golden = golden
        self.self_tested = self_tested


def _varint(raw, i, path):
    value, shift = 0, 0
    while True:
        if i >= len(raw) or shift > 63:
            raise PolicyError(f"{path}: not an ONNX model (a varint runs past the end)")
        b = raw[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def _proto_fields(raw, path):
    """The top-level fields of protobuf bytes: [(number, wire type, start, payload start, end)]."""
    fields, i = [], 0
    while i < len(raw):
        start = i
        tag, i = _varint(raw, i, path)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            _, i = _varint(raw, i, path)
            payload = start
        elif wire == 1 or wire == 5:
            payload, i = i, i + (8 if wire == 1 else 4)
        elif wire == 2:
            length, payload = _varint(raw, i, path)
            i = payload + length
        else:
            raise PolicyError(f"{path}: not an ONNX model (field {number} has wire type {wire})")
        if number == 0 or i > len(raw):
            raise PolicyError(f"{path}: not an ONNX model (field {number} at byte {start} runs past the end)")
        fields.append((number, wire, start, payload, i))
    return fields


def _onnx_entry(raw, path):
    """(key, value) of a serialized StringStringEntryProto."""
    kv = {}
    for number, wire, _, payload, end in _proto_fields(raw, path):
        if number in (1, 2) and wire == 2:
            try:
                kv[number] = raw[payload:end].decode("utf-8")
            except UnicodeDecodeError:
                raise PolicyError(f"{path}: a metadata_props entry is not UTF-8") from None
    return kv.get(1, ""), kv.get(2, "")


def onnx_checksum(raw, path="the model"):
    """(stored, actual): the `sha256` an exported ONNX policy carries in `metadata_props`, and the
    SHA-256 of its bytes `raw` with that entry's field (tag, length, entry) cut out
    (docs/policy-format.md, "ONNX"). Raises `PolicyError` unless there is exactly one entry."""
    sums = []
    for number, wire, start, payload, end in _proto_fields(raw, path):
        if number == 14 and wire == 2:   # ModelProto.metadata_props
            key, value = _onnx_entry(raw[payload:end], path)
            if key == "sha256":
                sums.append((value, start, end))
    if len(sums) != 1:
        raise PolicyError(f"{path}: metadata_props has {len(sums)} 'sha256' entries, expected 1 "
                          "(export the policy again with `switchgym export --format onnx`)")
    value, start, end = sums[0]
    return value, hashlib.sha256(raw[:start] + raw[end:]).hexdigest()


def verify_onnx(path, self_test=None):
    """Reads and verifies an ONNX policy (`switchgym export ... --format onnx`): the `sha256` in
    `metadata_props` against the file's content, the format, the golden cases' shapes against the
    policy document, then the self-test: ONNX Runtime must give every golden case's action.

    `self_test`: None runs it when onnxruntime is installed, True requires it (ImportError without),
    False skips it.
    Needs only numpy otherwise (the protobuf fields are read here). Returns an `OnnxPolicy`;
    raises `PolicyError` naming the file and what is wrong (`OSError` when it cannot be read)."""
    with open(path, "rb") as f:
        raw = f.read()
    stored, actual = onnx_checksum(raw, path)
    if actual != stored:
        raise PolicyError(f"{path}: checksum mismatch: the file says sha256 {stored}, its content hashes to {actual}; "
                          "the file is corrupted or was altered")
    metadata = {}
    for number, wire, _, payload, end in _proto_fields(raw, path):
        if number == 14 and wire == 2:
            key, value = _onnx_entry(raw[payload:end], path)
            metadata.setdefault(key, value)
    if metadata.get("format") != FORMAT or metadata.get("format_version") != "1":
        raise PolicyError(f"{path}: not a SwitchGym policy of format version 1 (metadata_props format "
                          f"{metadata.get('format')!r}, format_version {metadata.get('format_version')!r})")
    try:
        doc = json.loads(metadata["policy"])
        golden = json.loads(metadata["golden"])
        G = int(golden["count"])
        dim, width = doc["observation"]["dimension"], doc["action"]["mask_width"]
        comps = len(doc["action"]["components"])
        obs = np.asarray(golden["observation"], dtype=np.float32).reshape(G, dim)
        mask = np.asarray(golden["mask"], dtype=np.uint8).reshape(G, width)
        action = np.asarray(golden["action"], dtype=np.int64).reshape(G, comps)
    except (KeyError, TypeError, ValueError) as e:
        raise PolicyError(f"{path}: metadata_props lack a policy document or golden cases that fit it ({e!r})") from None
    if G < 1 or G != doc.get("golden_count"):
        raise PolicyError(f"{path}: {G} golden cases, the policy document says {doc.get('golden_count')}")
    if self_test is None:
        try:
            import onnxruntime  # noqa: F401
            self_test = True
        except ImportError:
            self_test = False
    if self_test:
        import onnxruntime as ort
        session = ort.InferenceSession(raw, providers=["CPUExecutionProvider"])
        got = session.run(["action"], {"observation": obs, "mask": mask.astype(bool)})[0]
        bad = np.nonzero((got != action).any(axis=1))[0]
        if len(bad):
            i = int(bad[0])
            raise PolicyError(f"{path}: self-test case {i} of {G}: ONNX Runtime gives action {got[i].tolist()}, "
                              f"expected {action[i].tolist()}")
    return OnnxPolicy(path, metadata, doc, (obs, mask.astype(bool), action), bool(self_test))


# Writing (tests) -----------------------------------------------------------------------------

def write(path, document, layers, golden):
    """Writes a policy file: `layers` [(W, b)], `golden` (observations, masks, actions)."""
    from safetensors.numpy import save
    t = {}
    for l, (W, b) in enumerate(layers):
        t[f"actor.{l}.weight"] = np.ascontiguousarray(W, dtype=np.float32)
        t[f"actor.{l}.bias"] = np.ascontiguousarray(b, dtype=np.float32)
    o, m, a = golden
    t["golden.observation"] = np.ascontiguousarray(o, dtype=np.float32)
    t["golden.mask"] = np.ascontiguousarray(m, dtype=np.uint8)
    t["golden.action"] = np.ascontiguousarray(a, dtype=np.int32)
    document = dict(document, golden_count=int(o.shape[0]))
    text = json.dumps(document)
    meta = {"format": FORMAT, "format_version": "1", "policy": text, "sha256": "0" * 64}
    draft = save(t, metadata=meta)
    n = struct.unpack("<Q", draft[:8])[0]
    meta["sha256"] = hashlib.sha256(draft[8 + n:] + text.encode("utf-8")).hexdigest()
    raw = save(t, metadata=meta)
    with open(path, "wb") as f:
        f.write(raw)
    return raw


def document_for(kind, workers=4, jobs=3, classes=(0, 0, 1, 1), streams=2, per_stream=4, hidden=(32, 32),
                 activation="tanh", stay_bias=0.0, beam=1, levels=None, dimension=12, components=(3, 4)):
    """A policy document (without golden_count) for a random test policy."""
    if kind == "mlp":
        sizes = [dimension, *hidden, sum(components)]
        fam = None
        comps = list(components)
    else:
        K = max(classes) + 1
        G = streams * per_stream + 1
        J = jobs
        fam = {"workers": workers, "jobs": J, "streams": streams, "history_windows": per_stream - 4, "forecast": False,
               "worker_class": list(classes), "class_names": [f"class{k}" for k in range(K)],
               "job_names": [f"v{j}" for j in range(J)], "shared_offset": workers * (J + 1), "shared_count": G}
        dimension = workers * (J + 1) + G
        comps = [J] * workers
        if kind == "family":
            sizes = [J + 1 + K + K * J + K + G, *hidden, J]
        else:
            sizes = [K * (J + 1) + G, *hidden, K * (1 + J * J * levels)]
    return {"format": FORMAT, "format_version": 1,
            "policy": {"kind": kind, "algorithm": "ppo", "network": {"sizes": sizes, "hidden_activation": activation},
                       "stay_bias": stay_bias, "beam_width": beam if kind == "family" else 1,
                       "moves_levels": levels if kind == "moves" else None},
            "observation": {"dimension": dimension, "features": [], "family": fam},
            "action": {"components": comps, "mask_width": sum(comps), "component_names": [f"c{c}" for c in range(len(comps))],
                       "value_names": [[str(i) for i in range(n)] for n in comps]},
            "scenario": None, "source": {"checkpoint": "random", "checkpoint_sha256": "", "steps": 0},
            "versions": {"switchgym": "test", "format": 1}}


def random_inputs(policy, n, rng):
    """`n` valid random observations and masks (each component allows at least one value; held
    variants are valid one-hots; about a third of the devices loading)."""
    if policy.kind == "mlp":
        obs = rng.normal(size=(n, policy.dimension)).astype(np.float32)
        mask = rng.random((n, policy.mask_width)) < 0.6
        offs = np.cumsum([0] + policy.components)
        for c in range(len(policy.components)):
            pick = offs[c] + rng.integers(0, policy.components[c], size=n)
            mask[np.arange(n), pick] = True
        return obs, mask.astype(np.uint8)
    D, J = policy.D, policy.J
    obs = np.zeros((n, policy.dimension), dtype=np.float32)
    held = rng.integers(0, J, size=(n, D))
    for w in range(D):
        obs[np.arange(n), w * (J + 1) + held[:, w]] = 1
        loading = rng.random(n) < 0.35
        obs[:, w * (J + 1) + J] = np.where(loading, rng.integers(1, 4, size=n), 0).astype(np.float32)
    so, sc = policy.shared_offset, policy.shared_count
    obs[:, so:so + sc] = rng.gamma(1.0, 1.0, size=(n, sc)).astype(np.float32)
    obs[:, so + sc - 1] = rng.random(n).astype(np.float32)
    mask = (rng.random((n, D, J)) < 0.6)
    for w in range(D):  # the held variant is allowed most of the time, something always
        keep = rng.random(n) < 0.9
        mask[np.arange(n), w, held[:, w]] |= keep
        none = ~mask[:, w, :].any(axis=1)
        mask[none, w, rng.integers(0, J, size=int(none.sum()))] = True
    return obs, mask.reshape(n, D * J).astype(np.uint8)


def random_policy(path, kind, golden_count=32, seed=0, scale=1.0, **kw):
    """Writes a policy with random weights (golden actions from this reference); returns it."""
    rng = np.random.default_rng(seed)
    doc = document_for(kind, **kw)
    sizes = doc["policy"]["network"]["sizes"]
    layers = [((rng.standard_normal((sizes[l + 1], sizes[l])) * scale / np.sqrt(sizes[l])).astype(np.float32),
               (rng.standard_normal(sizes[l + 1]) * 0.1).astype(np.float32)) for l in range(len(sizes) - 1)]
    policy = Policy(dict(doc, golden_count=golden_count), layers)
    o, m = random_inputs(policy, golden_count, rng)
    a = act(policy, o, m)
    write(path, doc, layers, (o, m, a))
    return policy


# The package's API ---------------------------------------------------------------------------

def load_policy(path, self_test=True):
    """Reads an exported policy file (`switchgym export ... --format safetensors`), verifying its
    checksum, shapes and self-test vectors; returns a `Policy` (`.act`, `.predict`)."""
    return load(path, self_test=self_test)


def _mask_of(env):
    for e in (env, getattr(env, "unwrapped", None)):
        f = getattr(e, "action_masks", None)
        if callable(f):
            return f()
    return None


def _env_action(space, a):
    """`a` (int32 [components], 0-based per component) as an action of `space`."""
    start = getattr(space, "start", 0)
    if getattr(space, "n", None) is not None and np.ndim(start) == 0:  # Discrete(n, start)
        return int(a[0]) + int(start)
    return (np.asarray(a, dtype=np.int64) + np.asarray(start, dtype=np.int64)).astype(space.dtype)


def evaluate_policy(policy, env, n_eval_episodes=10, seed=None, return_episode_rewards=False, max_steps=1_000_000):
    """Plays `n_eval_episodes` greedy episodes of `policy` on the Gymnasium env `env`, masking with
    `env.action_masks()` when the env has it (Stable-Baselines3's `evaluate_policy`).

    The first episode resets with `seed`, later ones continue the env's stream, as `switchgym
    train --eval-every` evaluates (its evaluation env is seeded with the run's seed + 1000000).
    An episode is cut after `max_steps` steps. Returns `(mean, std)` of the episode returns, or
    `(returns, lengths)` with `return_episode_rewards=True`."""
    if isinstance(policy, (str, bytes)) or hasattr(policy, "__fspath__"):
        policy = load_policy(policy)
    dim = int(np.prod(env.observation_space.shape))
    if dim != policy.dimension:
        raise PolicyError(f"the env's observations have {dim} values; the policy reads {policy.dimension}")
    returns, lengths = [], []
    for e in range(n_eval_episodes):
        obs, _ = env.reset(seed=seed if e == 0 else None)
        total, length = 0.0, 0
        while length < max_steps:
            a = act(policy, np.asarray(obs, dtype=np.float32).reshape(-1), _mask_of(env))
            obs, reward, terminated, truncated, _ = env.step(_env_action(env.action_space, a))
            total += float(reward)
            length += 1
            if terminated or truncated:
                break
        returns.append(total)
        lengths.append(length)
    if return_episode_rewards:
        return returns, lengths
    return float(np.mean(returns)), float(np.std(returns))


if __name__ == "__main__":
    import sys
    p = load(sys.argv[1])
    print(f"{sys.argv[1]}: {p.kind}, sizes {p.sizes}, components {len(p.components)}, self-test passed")
