"""Shared set-up for the checks that use real Python clients (h5py, gymnasium, ...).

`require(["h5py", "hdf5plugin"])` makes the packages importable: if they are not,
it creates (once) a virtualenv in $SWITCHGYM_PYENV (default: ~/.cache/switchgym/pyenv),
installs them there from PyPI and re-runs the calling script with that interpreter.
When that cannot be done (no venv module, no network), it prints `SKIP: <reason>`
and exits 0, so the suite reports the check as skipped rather than passing silently.
"""
import importlib
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")


def skip(reason):
    print(f"SKIP: {os.path.basename(sys.argv[0])}: {reason}")
    sys.exit(0)


def fail(message):
    print(f"FAIL: {os.path.basename(sys.argv[0])}: {message}")
    sys.exit(1)


def require(packages):
    """`packages`: import names; pip names may differ via `name=pipname`."""
    pairs = [p.split("=", 1) if "=" in p else (p, p) for p in packages]
    missing = []
    for mod, pipname in pairs:
        try:
            importlib.import_module(mod)
        except Exception:
            missing.append(pipname)
    if not missing:
        return
    if os.environ.get("SWITCHGYM_PYENV_ACTIVE") == "1":
        skip(f"could not import {', '.join(missing)} even after installing them")
    env_dir = os.environ.get("SWITCHGYM_PYENV", os.path.expanduser("~/.cache/switchgym/pyenv"))
    py = os.path.join(env_dir, "bin", "python")
    try:
        if not os.path.exists(py):
            subprocess.run([sys.executable, "-m", "venv", env_dir], check=True, capture_output=True)
        subprocess.run([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
                       + [p for _, p in pairs], check=True, capture_output=True, timeout=900)
    except subprocess.CalledProcessError as e:
        tail = (e.stderr or b"").decode(errors="replace").strip().splitlines()[-1:] or ["?"]
        skip(f"cannot install {', '.join(missing)} from PyPI ({tail[0]})")
    except Exception as e:  # timeout, no venv module
        skip(f"cannot install {', '.join(missing)} from PyPI ({e})")
    env = dict(os.environ, SWITCHGYM_PYENV_ACTIVE="1")
    os.execve(py, [py] + sys.argv, env)


def switchgym_binary():
    """The binary under test: $SWITCHGYM_BIN, else the release build, else debug."""
    b = os.environ.get("SWITCHGYM_BIN")
    if b:
        return b
    for conf in ("release", "debug"):
        p = os.path.join(ROOT, ".build", conf, "switchgym")
        if os.path.exists(p):
            return p
    fail("no switchgym binary: build with `swift build -c release` or set SWITCHGYM_BIN")


def run(args, **kw):
    """Runs switchgym with `args`; returns stdout; fails the check on a non-zero exit."""
    r = subprocess.run([switchgym_binary()] + args, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        fail(f"switchgym {' '.join(args)} exited {r.returncode}:\n{r.stderr}")
    return r.stdout
