#!/usr/bin/env python3
"""Prepares the GPU check of exported policies (issue: frozen policies on the serving core).

Usage: prepare.py OUT_DIR POLICY.safetensors[=NAME] ...
For each policy: 100,000 random valid observations (fleet layout from the file's document; each
float a multiple of 1/32, so that it is exact in float32 and travels as uint8 codes) and random
masks (each device may keep its variant and each other variant with probability 0.7), the
actions `switchgym act` computes for them here, all in OUT_DIR/NAME/ for Scripts/gpu/policy_torch.py.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import pyclient  # noqa: E402

pyclient.require(["numpy"])
import numpy as np  # noqa: E402

N = 100_000


def document(path):
    raw = open(path, "rb").read(1 << 24)
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(json.loads(raw[8:8 + n])["__metadata__"]["policy"])


def cases(doc, rng):
    fam = doc["observation"]["family"]
    D, J, dim = fam["workers"], fam["jobs"], doc["observation"]["dimension"]
    codes = np.zeros((N, dim), dtype=np.uint8)
    held = rng.integers(0, J, size=(N, D))
    for w in range(D):
        codes[np.arange(N), w * (J + 1) + held[:, w]] = 32
        loading = rng.random(N) < 0.3
        codes[:, w * (J + 1) + J] = np.where(loading, rng.integers(1, 96, size=N), 0)
    codes[:, fam["shared_offset"]:dim - 1] = rng.integers(0, 96, size=(N, dim - 1 - fam["shared_offset"]))
    codes[:, dim - 1] = rng.integers(0, 33, size=N)
    mask = rng.random((N, D, J)) < 0.7
    mask[np.arange(N)[:, None], np.arange(D)[None, :], held] = True
    return codes, mask.reshape(N, D * J)


def main():
    out, policies = sys.argv[1], sys.argv[2:]
    binary = pyclient.switchgym_binary()
    os.makedirs(out, exist_ok=True)
    shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "policy_torch.py"), out)
    for i, spec in enumerate(policies):
        path, _, name = spec.partition("=")
        name = name or os.path.splitext(os.path.basename(path))[0]
        case = os.path.join(out, name)
        os.makedirs(case, exist_ok=True)
        shutil.copy(path, os.path.join(case, "policy.safetensors"))
        codes, mask = cases(document(path), np.random.default_rng(100 + i))
        np.savez_compressed(os.path.join(case, "inputs.npz"), obs_codes=codes, mask_bits=np.packbits(mask, axis=1))
        with tempfile.TemporaryDirectory() as tmp:
            np.savetxt(os.path.join(tmp, "obs.csv"), codes.astype(np.float32) / 32, delimiter=",", fmt="%.8g")
            np.savetxt(os.path.join(tmp, "mask.csv"), mask.astype(np.uint8), delimiter=",", fmt="%d")
            r = subprocess.run([binary, "act", path, "--input", os.path.join(tmp, "obs.csv"), "--mask", os.path.join(tmp, "mask.csv")],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit(f"switchgym act failed: {r.stderr}")
            print(f"{name}: {r.stderr.strip()}")
            actions = np.array([[int(x) for x in line.split(",")] for line in r.stdout.splitlines()], dtype=np.int16)
        np.save(os.path.join(case, "expected.npy"), actions)
        print(f"{name}: {N} cases, {os.path.getsize(os.path.join(case, 'inputs.npz')) / 1e6:.1f} MB of inputs")


if __name__ == "__main__":
    main()
