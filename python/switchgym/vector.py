"""`SwitchGymVectorEnv`: a native vector env as a `gymnasium.vector.VectorEnv`."""
import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from ._native import NativeVectorEnv, SwitchGymError
from .env import action_space, observation_space

_MODES = {AutoresetMode.NEXT_STEP: "next-step", AutoresetMode.SAME_STEP: "same-step", AutoresetMode.DISABLED: "disabled"}


class SwitchGymVectorEnv(gym.vector.VectorEnv):
    """`num_envs` copies of a SwitchGym env stepped natively, one native call per vector step.

    Zero copies: `reset` and `step` return the Python-owned numpy buffers that the native env
    writes into (observations (N, *shape) float32, rewards (N,) float32, terminations and
    truncations (N,) bool). They are **overwritten by the next step**: copy what you keep
    (`obs.copy()`), or pass `copy=True` to get fresh arrays each step (as SyncVectorEnv's
    default does).

    Autoreset follows Gymnasium 1.x (`autoreset_mode`, default `NEXT_STEP`, also in
    `metadata["autoreset_mode"]`): NEXT_STEP resets a finished sub-env on the following step
    (its action ignored, reward 0, no flags); SAME_STEP resets it in the ending step and puts
    the final observation in `info["final_obs"]` (mask `info["_final_obs"]`); DISABLED resets
    only through `reset(options={"reset_mask": mask})`.

    Seeding as Gymnasium: `reset(seed=s)` seeds sub-env i with `s + i`.
    `action_masks()` is the (N, mask_width) bool buffer (a view).
    """

    def __init__(self, id_or_spec="CartPole-v1", num_envs=1, trace=None, seed=None, training=False,
                 autoreset_mode=AutoresetMode.NEXT_STEP, copy=False, max_episode_steps=None, render_mode=None):
        mode = AutoresetMode(autoreset_mode)
        self.native = NativeVectorEnv(id_or_spec, num_envs, trace=trace, autoreset=_MODES[mode], training=training)
        s = self.native.spaces
        if max_episode_steps is not None and max_episode_steps != s["max_episode_steps"]:
            raise ValueError(f"{s['id']} ends its episodes natively after {s['max_episode_steps']} steps; "
                             f"max_episode_steps={max_episode_steps} cannot change that")
        self.num_envs = s["num_envs"]
        self.single_observation_space = observation_space(s)
        self.single_action_space = action_space(s)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {"autoreset_mode": mode, "render_modes": []}
        self.render_mode = render_mode  # accepted (SB3 passes one), nothing is rendered
        self.autoreset_mode = mode
        self.copy = copy
        self.max_episode_steps = s["max_episode_steps"]
        self._seed = seed
        a = s["action"]
        self._start = a["start"]
        self._discrete = a["kind"] == "Discrete"
        n = self.native
        # Where step() writes the actions: (N,) for Discrete, (N, K) for MultiDiscrete.
        self._action_target = n.actions[:, 0] if self._discrete else n.actions
        self._empty_info = {}

    # The buffers, for code that wants them directly (views, no copy).
    @property
    def observations(self):
        return self.native.obs

    def action_masks(self):
        """The allowed actions of every sub-env: an (N, mask_width) bool array (a view)."""
        return self.native.masks

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if isinstance(seed, (list, tuple)):
            if any(x is None for x in seed) or list(seed) != list(range(seed[0], seed[0] + len(seed))):
                raise ValueError("SwitchGymVectorEnv.reset: seed lists must be consecutive integers s, s+1, ... "
                                 "(sub-env i is seeded with s + i); pass an int")
            seed = seed[0]
        if seed is None and self._seed is not None:
            seed, self._seed = self._seed, None
        mask = (options or {}).get("reset_mask")
        if mask is not None:
            self.native.reset_mask(mask, seed)
        else:
            self.native.reset(seed)
        return (self.native.obs.copy() if self.copy else self.native.obs), {}

    def step(self, actions):
        n = self.native
        if self._discrete and self._start != 0:
            np.subtract(actions, self._start, out=self._action_target, casting="unsafe")
        else:
            try:
                np.copyto(self._action_target, actions, casting="unsafe")
            except ValueError as e:
                raise SwitchGymError(f"actions of shape {np.shape(actions)} do not fit {self.action_space}: {e}") from None
        n.step()
        info = self._empty_info
        if self.autoreset_mode == AutoresetMode.SAME_STEP and n.has_final_obs.any():
            final = np.full(self.num_envs, None, dtype=object)
            for i in np.flatnonzero(n.has_final_obs):
                final[i] = n.final_obs[i].copy()
            info = {"final_obs": final, "_final_obs": n.has_final_obs.copy(),
                    "final_info": {}, "_final_info": n.has_final_obs.copy()}
        elif info:
            info = self._empty_info = {}
        if self.copy:
            return n.obs.copy(), n.rewards.copy(), n.terminations.copy(), n.truncations.copy(), info
        return n.obs, n.rewards, n.terminations, n.truncations, info

    def set_parallelism(self, chunks):
        """Steps the sub-envs in `chunks` concurrent chunks natively (for expensive sub-envs)."""
        self.native.set_parallelism(chunks)

    def close_extras(self, **kwargs):
        self.native.close()
