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


def sb3_logs_in_scratch():
    """Stable-Baselines3 makes an empty `SB3-<date>` folder in the system temp folder for every
    model trained without a log folder; point it at a scratch folder removed at exit (unless
    SB3_LOGDIR is already set), so the checks leave nothing behind."""
    if os.environ.get("SB3_LOGDIR"):
        return
    import atexit
    import shutil
    import tempfile
    folder = tempfile.mkdtemp(prefix="switchgym-sb3-logs-")
    os.environ["SB3_LOGDIR"] = folder
    atexit.register(shutil.rmtree, folder, True)


def local_cpu_torch_wheels():
    """CPU torch wheels (`torch-*+cpu-*.whl`) in pip's configured find-links folders."""
    dirs = os.environ.get("PIP_FIND_LINKS", "").split()
    try:
        out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if "find-links" in line and "=" in line:
                dirs += line.split("=", 1)[1].strip().strip("'\"").split()
    except Exception:
        pass
    found = []
    for d in dirs:
        if os.path.isdir(d):
            found += [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.startswith("torch-") and "+cpu" in f]
    return found


def ensure_cpu_torch():
    """Installs a CPU-only torch into the client venv before `require`: PyPI's default Linux
    wheel pulls in several GB of CUDA libraries, so torch never comes from plain PyPI here.
    Tried in order: a `+cpu` wheel in pip's find-links folders, then the CPU index at
    download.pytorch.org (only torch; its own dependencies come from PyPI)."""
    if os.environ.get("SWITCHGYM_PYENV_ACTIVE") == "1":
        return
    try:
        import torch  # noqa: F401
        return
    except Exception:
        pass
    env_dir = os.environ.get("SWITCHGYM_PYENV", os.path.expanduser("~/.cache/switchgym/pyenv"))
    py = os.path.join(env_dir, "bin", "python")
    try:
        if not os.path.exists(py):
            subprocess.run([sys.executable, "-m", "venv", env_dir], check=True, capture_output=True)
        if subprocess.run([py, "-c", "import torch"], capture_output=True).returncode == 0:
            return
    except Exception as e:
        skip(f"cannot create the client virtualenv ({e})")
    error = install_cpu_torch(py)
    if error:
        skip(error)


def install_cpu_torch(py, timeout=1800):
    """Installs a CPU-only torch into interpreter `py` (see `ensure_cpu_torch`); returns None,
    or why it could not."""
    pip = [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--retries", "1"]
    attempts = [pip + [w] for w in local_cpu_torch_wheels()[-1:]]
    attempts.append(pip + ["torch", "--no-deps", "--index-url", "https://download.pytorch.org/whl/cpu"])
    errors = []
    for cmd in attempts:
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=timeout)
            # torch's pure-Python dependencies (no CUDA packages: torch is already installed).
            meta = subprocess.run([py, "-c", "import importlib.metadata as m; print('\\n'.join(m.requires('torch') or []))"],
                                  capture_output=True, text=True).stdout.splitlines()
            deps = [r.split(";")[0].strip() for r in meta
                    if "extra ==" not in r and not r.lower().startswith(("nvidia", "cuda", "triton"))]
            if deps:
                subprocess.run(pip + deps, check=True, capture_output=True, timeout=timeout)
            return None
        except Exception as e:
            errors.append(str(e).splitlines()[0][:200])
    return "cannot install a CPU torch wheel (" + "; ".join(errors) + ")"


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
