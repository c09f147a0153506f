#!/usr/bin/env python3
"""Check that `switchgym eval --export` writes a report Jupyter can run.

Runs the real binary on the LLM scenario (the default trace), then executes the exported
report.ipynb top to bottom with nbclient and a python3 kernel (pandas + matplotlib, from PyPI
into the cached venv), and checks the tidy CSVs with pandas: one row per policy in
policies.csv, every policy's intervals in intervals.csv, regret = bound - utility.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyclient

pyclient.require(["pandas", "matplotlib", "nbformat", "nbclient", "ipykernel"])

import matplotlib
matplotlib.use("Agg")
import nbformat
import pandas as pd
from nbclient import NotebookClient

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def main():
    spec = os.path.join(pyclient.ROOT, "envs", "llm-zoo.toml")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "report")
        run = os.path.join(tmp, "run")
        r = subprocess.run([pyclient.switchgym_binary(), "train", "--env", spec, "--steps", "2048", "--out", run, "--quiet"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pyclient.fail(f"switchgym train exited {r.returncode}:\n{r.stderr}")
        r = subprocess.run([pyclient.switchgym_binary(), "eval", run, "--env", spec, "--baselines", "static-best,reactive,infaas",
                            "--export", out], capture_output=True, text=True)
        if r.returncode != 0:
            pyclient.fail(f"switchgym eval exited {r.returncode}:\n{r.stderr}")
        policies = pd.read_csv(os.path.join(out, "policies.csv"))
        intervals = pd.read_csv(os.path.join(out, "intervals.csv"))
        check(list(policies.policy) == ["ppo:run", "static-best", "reactive", "infaas", "oracle"], f"policies.csv rows {list(policies.policy)}")
        check(list(policies.kind) == ["trained", "baseline", "baseline", "baseline", "oracle"], f"policies.csv kinds {list(policies.kind)}")
        per = intervals.groupby("policy").size()
        check(per.nunique() == 1 and per.iloc[0] > 10, f"intervals.csv: {per.iloc[0]} intervals for each of {len(per)} policies")
        sums = intervals.groupby("policy").reward.sum()
        check(all(abs(sums[p] - u) <= 1e-6 * max(1, abs(u)) for p, u in zip(policies.policy, policies.utility)),
              "utility in policies.csv = the sum of the interval rewards in intervals.csv")
        bound = (policies.utility + policies.regret).round(6).unique()
        check(len(bound) == 1 and (policies.utility <= bound[0] + 1e-6).all(), f"regret = one oracle bound ({bound})")
        nb = nbformat.read(os.path.join(out, "report.ipynb"), as_version=4)
        check(nbformat.validate(nb) is None, "report.ipynb is a valid nbformat 4 notebook")
        client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": out}})
        try:
            client.execute()
            errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
            check(not errors, f"report.ipynb runs top to bottom in a python3 kernel ({len(nb.cells)} cells)")
            best = policies[policies.kind == "baseline"].sort_values("utility").iloc[-1]
            texts = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
            check(any(f"best baseline: {best.policy}" in t for t in texts),
                  f"the notebook names the best deployable baseline ({best.policy}) and the trained policies' margins over it")
        except Exception as e:  # a cell raised
            check(False, f"report.ipynb runs top to bottom: {type(e).__name__}: {str(e)[:300]}")
        # SHA256SUMS: what coreutils' sha256sum -c checks, and a changed CSV stops the notebook.
        import hashlib
        with open(os.path.join(out, "SHA256SUMS")) as f:
            sums = [line.split("  ", 1) for line in f.read().splitlines()]
        listed = {name for _, name in sums}
        check(listed == set(os.listdir(out)) - {"SHA256SUMS"}, f"SHA256SUMS lists every exported file ({len(listed)})")
        check(all(hashlib.sha256(open(os.path.join(out, n), "rb").read()).hexdigest() == d for d, n in sums
                  if n != "report.ipynb"), "every file matches its SHA-256 in SHA256SUMS")
        with open(os.path.join(out, "intervals.csv"), "a") as f:
            f.write("tampered,0,0,0,0,0,0,0,0,0,0,0\n")
        fresh = nbformat.read(os.path.join(out, "report.ipynb"), as_version=4)
        try:
            NotebookClient(fresh, timeout=120, kernel_name="python3", resources={"metadata": {"path": out}}).execute()
            check(False, "a changed intervals.csv stops the notebook at its checksum cell")
        except Exception as e:
            check("intervals.csv does not match SHA256SUMS" in str(e), "a changed intervals.csv stops the notebook at its checksum cell")
        for svg in ["rate.svg", "utility.svg", "crossover.svg"]:
            with open(os.path.join(out, svg)) as f:
                text = f.read()
            check(text.startswith("<?xml") and text.rstrip().endswith("</svg>"), f"{svg} is a complete SVG document")
    if failures:
        pyclient.fail(f"{len(failures)} check(s) failed")
    print("PASS: check_notebook.py")


main()
