"""`SwitchGymEnv`: one native env as a `gymnasium.Env`."""
import gymnasium as gym
import numpy as np

from ._native import NativeVectorEnv


def observation_space(spaces):
    o = spaces["observation"]
    shape = tuple(o["shape"])
    low = np.asarray(o["low"], dtype=np.float32).reshape(shape)
    high = np.asarray(o["high"], dtype=np.float32).reshape(shape)
    return gym.spaces.Box(low=low, high=high, shape=shape, dtype=np.float32)


def action_space(spaces):
    a = spaces["action"]
    if a["kind"] == "Discrete":
        return gym.spaces.Discrete(a["n"], start=a["start"])
    return gym.spaces.MultiDiscrete(np.asarray(a["nvec"], dtype=np.int64))


class SwitchGymEnv(gym.Env):
    """A SwitchGym env (registered id or scenario spec) as a `gymnasium.Env`.

    Observations are float32 `Box`es; actions `Discrete` or `MultiDiscrete`. `action_masks()`
    gives the allowed actions as one flat bool array (per component, one flag per value,
    concatenated: sb3-contrib's MaskablePPO form). Observations returned by `reset`/`step` are
    fresh arrays (a copy of the native buffer row), as Gymnasium envs return.

    Episodes end natively (CartPole-v1 truncates at 500 steps, a scenario at its
    `episode_intervals`); step after `terminated or truncated` only after a `reset`.

    Args:
        id_or_spec: a registered id (`CartPole-v1`, `Bandit-v0`, `DelayedReward-v0`,
            `SwitchCost-v0`) or a scenario spec path (`envs/vision-zoo.toml`, relative to the
            current directory).
        trace: a trace dataset (.h5) a scenario replays instead of its own.
        seed: the seed of the first reset when it is given none.
        training: scale a scenario's rewards to about 1 per interval (as `switchgym train`).
    """

    metadata = {"render_modes": []}

    def __init__(self, id_or_spec="CartPole-v1", trace=None, seed=None, training=False, render_mode=None):
        self.native = NativeVectorEnv(id_or_spec, 1, trace=trace, autoreset="disabled", training=training)
        s = self.native.spaces
        self.observation_space = observation_space(s)
        self.action_space = action_space(s)
        self.max_episode_steps = s["max_episode_steps"]
        self.env_id = s["id"]
        self._start = s["action"]["start"]
        self._discrete = s["action"]["kind"] == "Discrete"
        self._seed = seed
        self._row = self.native.actions[0]
        self.render_mode = render_mode  # accepted (SB3 passes one), nothing is rendered

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if seed is None and self._seed is not None:
            seed, self._seed = self._seed, None
        self.native.reset(seed)
        if options and "state" in options:
            self.native.set_state(0, options["state"])
        return self.native.obs[0].copy(), {}

    def step(self, action):
        if self._discrete:
            self._row[0] = int(action) - self._start
        else:
            self._row[:] = action
        self.native.step()
        n = self.native
        return n.obs[0].copy(), float(n.rewards[0]), bool(n.terminations[0]), bool(n.truncations[0]), {}

    def action_masks(self):
        """The allowed actions now: a flat bool array of `mask_width` entries (a copy)."""
        return self.native.masks[0].copy()

    def set_state(self, values):
        """Overwrites the physical state after a reset (CartPole: x, x_dot, theta, theta_dot);
        returns the new observation. Also `reset(options={"state": values})`."""
        self.native.set_state(0, values)
        return self.native.obs[0].copy()

    def close(self):
        self.native.close()
        super().close()
