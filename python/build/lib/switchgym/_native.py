"""ctypes over libSwitchGymC (Sources/SwitchGymCABI/switchgym_c.h): finding and loading the
library, and `NativeVectorEnv`, a handle with the numpy buffers it writes into.

Buffer ownership: Python owns every buffer (numpy arrays allocated here, bound once to the
native env with `sg_env_bind`). The native env writes into them in place on each reset and
step; nothing is copied and nothing is allocated per step. The arrays stay valid (and keep
their last contents) after `close()`.
"""
import ctypes
import json
import os
import sys
from pathlib import Path

import numpy as np

LIBRARY_ENV = "SWITCHGYM_LIB"
ABI_VERSION = 1
_ERR_LEN = 4096
BUILD_HINT = ("build it with `swift build -c release --product SwitchGymC` in the SwitchGym repository, "
              f"or set {LIBRARY_ENV} to the library's path")


class SwitchGymError(ValueError):
    """An error reported by the native env (bad argument, unknown id, invalid action...)."""


def _library_name():
    if sys.platform == "darwin":
        return "libSwitchGymC.dylib"
    if sys.platform.startswith("win"):
        return "SwitchGymC.dll"
    return "libSwitchGymC.so"


def candidate_paths():
    """Where the library is looked for, in order."""
    name = _library_name()
    out = []
    env = os.environ.get(LIBRARY_ENV)
    if env:
        p = Path(env)
        out.append(p / name if p.is_dir() else p)
        return out  # an explicit setting is the only candidate
    roots = [Path(__file__).resolve().parents[2]]  # python/switchgym/_native.py -> the repository
    here = Path.cwd().resolve()
    roots += [here] + list(here.parents)
    seen = set()
    for root in roots:
        if root in seen:
            continue
        seen.add(root)
        for conf in ("release", "debug"):
            out.append(root / ".build" / conf / name)
    return out


_lib = None
_lib_path = None


def library_path():
    """The path of the loaded (or to be loaded) library; raises with a build hint if none."""
    for p in candidate_paths():
        if p.is_file():
            return p
    tried = ", ".join(str(p) for p in candidate_paths()[:4])
    raise SwitchGymError(f"libSwitchGymC not found (tried {tried}, ...): {BUILD_HINT}.")


def lib():
    """The loaded library, with its function signatures declared."""
    global _lib, _lib_path
    if _lib is not None:
        return _lib
    path = library_path()
    try:
        L = ctypes.CDLL(str(path))
    except OSError as e:
        raise SwitchGymError(f"cannot load {path}: {e}. - help: {BUILD_HINT}.") from e
    c_char_p, c_void_p, i64, i32, u64 = ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32, ctypes.c_uint64
    L.sg_abi_version.restype = i32
    L.sg_abi_version.argtypes = []
    L.sg_registered_ids.restype = c_char_p
    L.sg_registered_ids.argtypes = []
    L.sg_env_create.restype = c_void_p
    L.sg_env_create.argtypes = [c_char_p, c_char_p, i64, c_char_p, i32, c_char_p, i64]
    L.sg_env_spaces.restype = c_char_p
    L.sg_env_spaces.argtypes = [c_void_p]
    L.sg_env_bind.restype = i32
    L.sg_env_bind.argtypes = [c_void_p, i64, c_void_p, i64, c_void_p, c_void_p, c_void_p, c_void_p, i64,
                              c_void_p, c_void_p, c_void_p, c_char_p, i64]
    L.sg_env_reset.restype = i32
    L.sg_env_reset.argtypes = [c_void_p, i32, u64, c_char_p, i64]
    L.sg_env_reset_mask.restype = i32
    L.sg_env_reset_mask.argtypes = [c_void_p, c_void_p, i64, i32, u64, c_char_p, i64]
    L.sg_env_step.restype = i32
    L.sg_env_step.argtypes = [c_void_p, c_void_p, i64, c_char_p, i64]
    L.sg_env_set_state.restype = i32
    L.sg_env_set_state.argtypes = [c_void_p, i64, c_void_p, i64, c_char_p, i64]
    L.sg_env_set_parallelism.restype = i32
    L.sg_env_set_parallelism.argtypes = [c_void_p, i64, c_char_p, i64]
    L.sg_env_close.restype = None
    L.sg_env_close.argtypes = [c_void_p]
    version = L.sg_abi_version()
    if version != ABI_VERSION:
        raise SwitchGymError(f"{path} has ABI version {version}, this package needs {ABI_VERSION}: rebuild the library "
                             f"or reinstall the package from the same checkout.")
    _lib, _lib_path = L, path
    return L


def registered_ids():
    """The ids of the registered native envs."""
    return json.loads(lib().sg_registered_ids().decode())


class NativeVectorEnv:
    """A native vector env of `num_envs` sub-envs and the Python-owned buffers it writes into.

    Attributes (numpy arrays, row i = sub-env i, rewritten in place by reset and step):
    `obs` (N, *obs_shape) float32, `rewards` (N,) float32, `terminations` / `truncations`
    (N,) bool, `masks` (N, mask_width) bool, `final_obs` / `has_final_obs` / `final_masks`
    (same-step autoreset only), and `actions` (N, action_components) int64, the choice rows
    that `step()` sends (0-based per component).
    """

    def __init__(self, id_or_spec, num_envs=1, trace=None, autoreset="next-step", training=False):
        L = lib()
        self._lib = L
        self._err = ctypes.create_string_buffer(_ERR_LEN)
        id_or_spec = os.fspath(id_or_spec)
        trace = None if trace is None else os.fspath(trace)
        h = L.sg_env_create(id_or_spec.encode(), None if trace is None else trace.encode(), int(num_envs),
                            autoreset.encode(), 1 if training else 0, self._err, _ERR_LEN)
        if not h:
            raise SwitchGymError(self._message())
        self._h = h
        self.spaces = json.loads(L.sg_env_spaces(h).decode())
        n = self.num_envs = self.spaces["num_envs"]
        o = self.spaces["observation"]
        self.obs_shape = tuple(o["shape"])
        width = self.mask_width = self.spaces["mask_width"]
        k = self.action_components = self.spaces["action_components"]
        self.obs = np.zeros((n,) + self.obs_shape, dtype=np.float32)
        self.rewards = np.zeros(n, dtype=np.float32)
        self.terminations = np.zeros(n, dtype=np.bool_)
        self.truncations = np.zeros(n, dtype=np.bool_)
        self.masks = np.ones((n, width), dtype=np.bool_)
        self.final_obs = np.zeros_like(self.obs)
        self.has_final_obs = np.zeros(n, dtype=np.bool_)
        self.final_masks = np.ones_like(self.masks)
        self.actions = np.zeros((n, k), dtype=np.int64)
        self._reset_mask = np.zeros(n, dtype=np.uint8)
        ptr = lambda a: a.ctypes.data  # noqa: E731
        self._check(L.sg_env_bind(h, n, ptr(self.obs), self.obs.size, ptr(self.rewards), ptr(self.terminations),
                                  ptr(self.truncations), ptr(self.masks), self.masks.size, ptr(self.final_obs),
                                  ptr(self.has_final_obs), ptr(self.final_masks), self._err, _ERR_LEN))
        # One ctypes call per step, its arguments converted once.
        step_fn = L.sg_env_step
        args = (ctypes.c_void_p(h), ctypes.c_void_p(ptr(self.actions)), ctypes.c_int64(self.actions.size), self._err,
                ctypes.c_int64(_ERR_LEN))
        self._step_call = lambda: step_fn(*args)

    def _message(self):
        return self._err.value.decode(errors="replace")

    def _check(self, rc):
        if rc != 0:
            raise SwitchGymError(self._message())

    @property
    def closed(self):
        return self._h is None

    def _handle(self):
        if self._h is None:
            raise SwitchGymError("the env is closed")
        return self._h

    def reset(self, seed=None):
        """Resets every sub-env (sub-env i with seed + i)."""
        self._check(self._lib.sg_env_reset(self._handle(), 0 if seed is None else 1, 0 if seed is None else int(seed),
                                           self._err, _ERR_LEN))

    def reset_mask(self, mask, seed=None):
        """Resets the sub-envs where `mask` is true (autoreset "disabled")."""
        np.copyto(self._reset_mask, np.asarray(mask, dtype=bool), casting="unsafe")
        self._check(self._lib.sg_env_reset_mask(self._handle(), self._reset_mask.ctypes.data, self.num_envs,
                                                0 if seed is None else 1, 0 if seed is None else int(seed),
                                                self._err, _ERR_LEN))

    def step(self):
        """Steps every sub-env with the choice rows in `self.actions` (one native call)."""
        if self._h is None:
            raise SwitchGymError("the env is closed")
        if self._step_call() != 0:
            raise SwitchGymError(self._message())

    def set_state(self, index, values):
        """Overwrites sub-env `index`'s physical state (CartPole: x, x_dot, theta, theta_dot)."""
        v = np.ascontiguousarray(values, dtype=np.float64)
        self._check(self._lib.sg_env_set_state(self._handle(), int(index), v.ctypes.data, v.size, self._err, _ERR_LEN))

    def set_parallelism(self, chunks):
        self._check(self._lib.sg_env_set_parallelism(self._handle(), int(chunks), self._err, _ERR_LEN))

    def close(self):
        if self._h is not None:
            self._lib.sg_env_close(self._h)
            self._h = None
            self._step_call = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
