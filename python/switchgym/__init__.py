"""SwitchGym's Swift envs for Python: a Gymnasium-compatible binding (ctypes over libSwitchGymC).

    import gymnasium as gym, switchgym
    env = switchgym.make("CartPole-v1")                         # gymnasium.Env
    env = gym.make("switchgym/Serving-v0", spec="envs/vision-zoo.toml")
    envs = switchgym.make_vec("CartPole-v1", num_envs=64)       # gymnasium.vector.VectorEnv
    policy = switchgym.load_policy("policy.safetensors")         # an exported checkpoint policy
    switchgym.verify_onnx("policy.onnx")                          # its ONNX form: sha256, golden cases
    mean, std = switchgym.evaluate_policy(policy, switchgym.make("CartPole-v1"), n_eval_episodes=20)

The shared library is found through $SWITCHGYM_LIB, else in the repository's .build/release
or .build/debug (see `switchgym._native.candidate_paths()`).
"""
import gymnasium as gym

from ._native import NativeVectorEnv, SwitchGymError, library_path, registered_ids
from .env import SwitchGymEnv
from .policy import OnnxPolicy, Policy, PolicyError, evaluate_policy, load_policy, verify_onnx
from .vector import SwitchGymVectorEnv

__all__ = ["make", "make_vec", "SwitchGymEnv", "SwitchGymVectorEnv", "NativeVectorEnv", "SwitchGymError",
           "library_path", "registered_ids", "REGISTERED_IDS", "load_policy", "evaluate_policy", "Policy", "PolicyError",
           "verify_onnx", "OnnxPolicy"]
__version__ = "0.1.0"

#: The native registered ids (Gymnasium ids: "switchgym/<id>"); checked against the library's list.
REGISTERED_IDS = ["CartPole-v1", "Bandit-v0", "DelayedReward-v0", "SwitchCost-v0"]


def make(id_or_spec, trace=None, seed=None, **kwargs):
    """A `gymnasium.Env` over a registered id or a scenario spec path (+ trace dataset).

    kwargs: `training=True` scales a scenario's rewards to about 1 per interval."""
    return SwitchGymEnv(id_or_spec, trace=trace, seed=seed, **kwargs)


def make_vec(id_or_spec, num_envs=1, trace=None, seed=None, **kwargs):
    """A `gymnasium.vector.VectorEnv` of `num_envs` native sub-envs (one native call per step,
    numpy views of Python-owned buffers). kwargs: `autoreset_mode`
    (`gymnasium.vector.AutoresetMode`, default NEXT_STEP), `copy`, `training`."""
    return SwitchGymVectorEnv(id_or_spec, num_envs=num_envs, trace=trace, seed=seed, **kwargs)


def _serving(spec, trace=None, seed=None, training=False, **kwargs):
    return SwitchGymEnv(spec, trace=trace, seed=seed, training=training, **kwargs)


def _serving_vec(num_envs=1, spec=None, trace=None, seed=None, training=False, **kwargs):
    if spec is None:
        raise ValueError("switchgym/Serving-v0 needs spec=PATH (a scenario spec, e.g. envs/vision-zoo.toml)")
    return SwitchGymVectorEnv(spec, num_envs=num_envs, trace=trace, seed=seed, training=training, **kwargs)


def _register():
    for env_id in REGISTERED_IDS:
        name = f"switchgym/{env_id}"
        if name in gym.envs.registry:
            continue
        gym.register(id=name, entry_point=SwitchGymEnv, vector_entry_point=SwitchGymVectorEnv,
                     kwargs={"id_or_spec": env_id})
    if "switchgym/Serving-v0" not in gym.envs.registry:
        gym.register(id="switchgym/Serving-v0", entry_point=_serving, vector_entry_point=_serving_vec)


_register()
