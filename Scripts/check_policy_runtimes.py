#!/usr/bin/env python3
"""Three readers of the policy file give the same actions (docs/policy-format.md).

For a family policy (envs/llm-zoo.toml, 4 GPUs) and a moves policy (envs/vision-cluster.toml cut to
32 devices), each trained briefly with the release binary and exported with `switchgym export`:
  1. the C runtime (runtime/c, compiled here with `cc`: the portable build, and where this CPU has
     AVX2 and FMA a second build with `-mavx2 -mfma`, whose kernels differ), numpy
     (Scripts/policy_reference.py, with the `safetensors` package) and `switchgym act` all load
     the file (checksum, shapes, self-test);
  2. on 10,000 seeded random valid observations (one-hot held variants, some pending loads) with
     random masks (every device allowed at least one variant), the three give the same action,
     except near-ties (a decision within 1e-4 of changing, where tanh and summation order may
     differ), whose logit gap is printed; any other disagreement fails the check;
  3. the C runtime refuses a copy with one flipped data byte;
  4. prints the C runtime's batch-1 latency (median of 20,000 calls) of each build;
  5. a build with AddressSanitizer and UndefinedBehaviorSanitizer (where the compiler has them)
     acts on the same observations with the same actions, and refuses a resealed copy whose
     golden actions are all -2147483648 (a failed self-test; its message once overflowed its
     buffer on 32 devices) with a clear reason and no sanitizer report.
Prints SKIP with the reason when PyPI (numpy, safetensors) or a C compiler is unavailable.
"""
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyclient  # noqa: E402

pyclient.require(["numpy", "safetensors"])
import numpy as np  # noqa: E402
import policy_reference as pr  # noqa: E402

N = 10_000
NEAR_TIE = 1e-4
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def cpu_has_avx2_fma():
    try:
        flags = next((line for line in open("/proc/cpuinfo") if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx2" in flags and "fma" in flags


def c_compiler():
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        pyclient.skip("no C compiler (cc, gcc or clang) to build the C runtime")
    return cc


def compile_c(tmp):
    """The C runtime's builds: [(label, sg_act path)], the portable one first."""
    cc = c_compiler()
    src = os.path.join(pyclient.ROOT, "runtime", "c")
    builds = [("portable", [])]
    if cpu_has_avx2_fma():
        builds.append(("avx2", ["-mavx2", "-mfma"]))
    else:
        print("     (no AVX2 and FMA on this CPU: the -mavx2 -mfma build of the C runtime is not checked)")
    exes = []
    for label, flags in builds:
        exe = os.path.join(tmp, "sg_act-" + label)
        if flags and shutil.which("make"):
            # As runtime/c/README.md says to build it: make CFLAGS="-O2 -mavx2 -mfma", in a copy.
            copy = os.path.join(tmp, "runtime-c-" + label)
            shutil.copytree(src, copy, ignore=shutil.ignore_patterns("*.o", "*.a", "sg_act", "sg_act_macs"))
            r = subprocess.run(["make", "-C", copy, f"CC={cc}", "CFLAGS=-O2 " + " ".join(flags), "sg_act"],
                               capture_output=True, text=True)
            how = f'make CFLAGS="-O2 {" ".join(flags)}"'
            if r.returncode == 0:
                shutil.copy(os.path.join(copy, "sg_act"), exe)
        else:
            r = subprocess.run([cc, "-std=c99", "-O2", *flags, "-Wall", "-Wextra", "-pedantic", "-I", os.path.join(src, "include"),
                                os.path.join(src, "switchgym_policy.c"), os.path.join(src, "sg_act.c"), "-lm", "-o", exe],
                               capture_output=True, text=True)
            how = f"-std=c99 -O2 {' '.join(flags) + ' ' if flags else ''}-Wall -Wextra -pedantic"
        if r.returncode != 0:
            pyclient.fail(f"building the C runtime ({how}) failed:\n{r.stderr}")
        check(r.stderr.strip() == "", f"the C runtime ({label}) builds with {how} and no warning{': ' + r.stderr if r.stderr.strip() else ''}")
        exes.append((label, exe))
    return exes


def compile_sanitized(tmp):
    """sg_act built with ASan and UBSan (AVX2 kernels too where the CPU has them), or None."""
    cc = c_compiler()
    src = os.path.join(pyclient.ROOT, "runtime", "c")
    exe = os.path.join(tmp, "sg_act-sanitized")
    flags = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
    if cpu_has_avx2_fma():
        flags += ["-mavx2", "-mfma"]
    r = subprocess.run([cc, "-std=c99", "-O1", "-g", *flags, "-I", os.path.join(src, "include"),
                        os.path.join(src, "switchgym_policy.c"), os.path.join(src, "sg_act.c"), "-lm", "-o", exe],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"     (no sanitizer build: {cc} {' '.join(flags)} failed: {r.stderr.strip().splitlines()[-1:]})")
        return None
    return exe


def huge_golden_copy(path, out):
    """`path` with every golden action set to -2147483648, its sha256 recomputed (same length)."""
    raw = bytearray(open(path, "rb").read())
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    begin, end = header["golden.action"]["data_offsets"]
    raw[8 + n + begin:8 + n + end] = struct.pack("<i", -2**31) * ((end - begin) // 4)
    old = header["__metadata__"]["sha256"]
    new = hashlib.sha256(bytes(raw[8 + n:]) + header["__metadata__"]["policy"].encode("utf-8")).hexdigest()
    head = bytes(raw[8:8 + n]).replace(old.encode(), new.encode(), 1)
    open(out, "wb").write(bytes(raw[:8]) + head + bytes(raw[8 + n:]))


def actions_of(text, n, width):
    rows = [line for line in text.splitlines() if line.strip()]
    a = np.array([[int(x) for x in line.split(",")] for line in rows], dtype=np.int64).reshape(-1, width)
    if a.shape[0] != n:
        pyclient.fail(f"{a.shape[0]} action lines for {n} observations")
    return a


def train_and_export(tmp, name, env, extra_steps):
    run = os.path.join(tmp, name)
    pyclient.run(["train", "--env", env, "--steps", str(extra_steps), "--seed", "1", "--out", run, "--quiet"])
    out = os.path.join(tmp, name + ".safetensors")
    pyclient.run(["export", run, "-o", out])
    return out


def compare(tmp, exes, name, path, want_kind, sanitized=None):
    policy = pr.load(path)  # sha256, shapes, self-test
    check(policy.kind == want_kind, f"{name}: numpy reads the exported {policy.kind} policy "
                                    f"(network {policy.sizes}, {len(policy.components)} devices) and its self-test passes")
    rng = np.random.default_rng(20240601)
    obs, mask = pr.random_inputs(policy, N, rng)
    obs_csv, mask_csv = os.path.join(tmp, name + ".obs.csv"), os.path.join(tmp, name + ".mask.csv")
    np.savetxt(obs_csv, obs, delimiter=",", fmt="%.9g")   # float32 round-trips exactly
    np.savetxt(mask_csv, mask, delimiter=",", fmt="%d")
    width = len(policy.components)

    r = subprocess.run([pyclient.switchgym_binary(), "act", path, "--input", obs_csv, "--mask", mask_csv],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pyclient.fail(f"switchgym act exited {r.returncode}:\n{r.stderr}")
    swift = actions_of(r.stdout, N, width)
    swift_latency = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "?"

    ref = pr.act(policy, obs, mask).astype(np.int64)
    gaps = pr.margins(policy, obs, mask)
    pairs, latency, actions = [("Swift", swift, "numpy", ref)], {}, {}
    for label, exe in exes:
        r = subprocess.run([exe, path, "--input", obs_csv, "--mask", mask_csv, "--bench", "20000"], capture_output=True, text=True)
        if r.returncode != 0:
            pyclient.fail(f"sg_act ({label}) exited {r.returncode}:\n{r.stderr}")
        c = actions[label] = actions_of(r.stdout, N, width)
        bench = re.search(r"bench: median (\d+) ns", r.stderr)
        latency[label] = int(bench.group(1)) if bench else None
        pairs += [(f"C ({label})", c, "Swift", swift), (f"C ({label})", c, "numpy", ref)]
    if sanitized:
        r = subprocess.run([sanitized, path, "--input", obs_csv, "--mask", mask_csv], capture_output=True, text=True)
        clean = r.returncode == 0 and "Sanitizer" not in r.stderr and "runtime error" not in r.stderr
        same = clean and (actions_of(r.stdout, N, width) == actions[exes[-1][0]]).all()   # the same kernels as that build
        check(clean and same, f"{name}: the sanitized C runtime acts on the {N} observations with no report and the same actions"
                              + ("" if clean else f" ({r.stderr.strip()[-300:]})"))
        huge = os.path.join(tmp, name + ".huge-golden.safetensors")
        huge_golden_copy(path, huge)
        r = subprocess.run([sanitized, huge, "--input", obs_csv], capture_output=True, text=True)
        check(r.returncode != 0 and "self-test case 0: action [" in r.stderr and "expected [-2147483648," in r.stderr
              and "Sanitizer" not in r.stderr and "runtime error" not in r.stderr,
              f"{name}: the sanitized C runtime refuses golden actions of -2147483648 cleanly ({r.stderr.strip()[:160]}...)")
    for a_name, a, b_name, b in pairs:
        diff = np.nonzero((a != b).any(axis=1))[0]
        hard = [i for i in diff if gaps[i] >= NEAR_TIE]
        detail = ""
        if len(diff):
            detail = "; logit gaps of the disagreements: " + ", ".join(f"{gaps[i]:.2e}" for i in diff[:8]) + (" ..." if len(diff) > 8 else "")
        check(not hard, f"{name}: {a_name} and {b_name} agree on {N - len(diff)}/{N} observations "
                        f"({len(diff) - len(hard)} near-tie disagreements, {len(hard)} others){detail}")
        for i in hard[:3]:
            print(f"     observation {i}: {a_name} {a[i].tolist()}, {b_name} {b[i].tolist()}, gap {gaps[i]:.3e}")
    ties = int((gaps < NEAR_TIE).sum())
    print(f"     ({ties} of the {N} observations are near-ties by the numpy margins)")

    # A flipped data byte is refused by the C runtime.
    raw = bytearray(open(path, "rb").read())
    raw[-100] ^= 0x04
    bad = os.path.join(tmp, name + ".bad.safetensors")
    open(bad, "wb").write(bytes(raw))
    r = subprocess.run([exes[0][1], bad, "--input", obs_csv], capture_output=True, text=True)
    check(r.returncode != 0 and "checksum mismatch" in r.stderr, f"{name}: the C runtime refuses a flipped byte ({r.stderr.strip()[:90]}...)")

    print(f"     {name}: C batch-1 latency " + ", ".join(f"{label} {ns / 1000:.2f} µs" for label, ns in latency.items() if ns)
          + f" (median of 20000 calls); switchgym act: {swift_latency}")
    return latency


def main():
    with tempfile.TemporaryDirectory() as tmp:
        exes = compile_c(tmp)
        sanitized = compile_sanitized(tmp)
        # A 32-device copy of vision-cluster (two classes of 16), its trace path made absolute.
        envs = os.path.join(pyclient.ROOT, "envs")
        text = open(os.path.join(envs, "vision-cluster.toml")).read()
        text = re.sub(r"(?m)^count = 32\b", "count = 16", text)
        text = re.sub(r'(?m)^(dataset\s*=\s*")([^"/][^"]*)"',
                      lambda m: m.group(1) + os.path.normpath(os.path.join(envs, m.group(2))) + '"', text)
        cluster = os.path.join(tmp, "vision-cluster-32.toml")
        open(cluster, "w").write(text)
        results = {}
        for name, env, kind in (("llm-zoo", os.path.join(envs, "llm-zoo.toml"), "family"),
                                ("vision-cluster-32", cluster, "moves")):
            path = train_and_export(tmp, name, env, 4096)
            results[name] = compare(tmp, exes, name, path, kind, sanitized)
        print("C batch-1 latency: " + "; ".join(f"{k} " + ", ".join(f"{label} {ns / 1000:.2f} µs" for label, ns in v.items() if ns)
                                                for k, v in results.items()))
    if failures:
        pyclient.fail(f"{len(failures)} check(s) failed")
    print("PASS: check_policy_runtimes.py")


main()
