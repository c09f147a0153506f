#!/usr/bin/env python3
"""Runs the reference cases that `SWITCHGYM_ONNX_DUMP=DIR swift test --filter dumpReferenceCases`
writes (ONNXPolicyExportTests: random-initialised mlp, family and moves policies, this library's
actions on random valid observations and masks) through onnxruntime and compares the actions.

    SWITCHGYM_ONNX_DUMP=/tmp/onnx-cases swift test --filter dumpReferenceCases
    python3 Scripts/onnx_compare_dump.py /tmp/onnx-cases      # needs numpy, onnx, onnxruntime
"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

d = sys.argv[1]
ok = True
for c in json.load(open(os.path.join(d, "cases.json"))):
    n, N = c["name"], c["count"]
    path = os.path.join(d, n + ".onnx")
    onnx.checker.check_model(onnx.load(path), full_check=True)
    obs = np.fromfile(os.path.join(d, n + ".obs.f32"), dtype=np.float32).reshape(N, c["dimension"])
    mask = np.fromfile(os.path.join(d, n + ".mask.u8"), dtype=np.uint8).reshape(N, c["mask_width"]).astype(bool)
    want = np.fromfile(os.path.join(d, n + ".action.i64"), dtype=np.int64).reshape(N, c["components"])
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    got = s.run(["action"], {"observation": obs, "mask": mask})[0]
    one = np.concatenate([s.run(["action"], {"observation": obs[i:i + 1], "mask": mask[i:i + 1]})[0] for i in range(50)])
    bad = np.nonzero((got != want).any(axis=1))[0]
    print(f"{n:34s} {N - len(bad)}/{N} equal; batch-1 runs equal the batch: {np.array_equal(one, got[:50])}"
          + (f"; first disagreements {bad[:5].tolist()}" if len(bad) else ""))
    if len(bad) or not np.array_equal(one, got[:50]):
        ok = False
        for i in bad[:2]:
            print("   onnxruntime", got[i].tolist(), "switchgym", want[i].tolist())
print("ALL EQUAL" if ok else "DISAGREEMENTS")
sys.exit(0 if ok else 1)
