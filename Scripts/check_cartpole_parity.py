#!/usr/bin/env python3
"""Check that `switchgym envs rollout --env CartPole-v1` reproduces Gymnasium's CartPole-v1.

For a set of initial states and fixed action sequences, runs Gymnasium's CartPole-v1
(setting env.unwrapped.state after reset) and switchgym's rollout with the same state
(--initial-state) and actions (--actions FILE), and compares observations (to 1e-5),
rewards and terminated/truncated flags over the first episode.

Needs gymnasium and numpy: Scripts/pyclient.py installs them into a cached venv when
they are not importable; if that is impossible prints "SKIP: <reason>" and exits 0.
Exits 1 on any mismatch.

Usage: Scripts/check_cartpole_parity.py [path/to/switchgym]
       (default: $SWITCHGYM_BIN, .build/release/switchgym, .build/debug/switchgym)
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyclient  # noqa: E402

TOLERANCE = 1e-5


def find_switchgym():
    return sys.argv[1] if len(sys.argv) > 1 else pyclient.switchgym_binary()


def gym_episode(gym, np, state, actions=None, controller=None, max_steps=600):
    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    env.unwrapped.state = np.array(state, dtype=np.float64)
    obs = np.array(env.unwrapped.state, dtype=np.float32)
    records = [(obs.astype(np.float64).tolist(), None, 0.0, False, False)]
    taken = []
    for k in range(max_steps):
        a = actions[k] if actions is not None else controller(obs)
        if actions is not None and k >= len(actions):
            break
        obs, reward, terminated, truncated, _ = env.step(a)
        taken.append(int(a))
        records.append((obs.astype(np.float64).tolist(), int(a), float(reward), bool(terminated), bool(truncated)))
        if terminated or truncated:
            break
        if actions is not None and k + 1 >= len(actions):
            break
    env.close()
    return taken, records


def swift_episode(binary, state, actions):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(str(a) for a in actions) + "\n")
        path = f.name
    try:
        out = subprocess.run([binary, "envs", "rollout", "--env", "CartPole-v1", "--seed", "0", "--steps", str(len(actions)),
                              "--actions", path, "--initial-state=" + ",".join(repr(float(s)) for s in state)],
                             check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(path)
    lines = [json.loads(l) for l in out.splitlines() if l.strip()]
    return [(l["obs"], l["action"], float(l["reward"]), l["terminated"], l["truncated"]) for l in lines]


def main():
    pyclient.require(["gymnasium", "numpy"])
    import gymnasium as gym
    import numpy as np

    binary = find_switchgym()
    rng = np.random.default_rng(12345)
    cases = []
    starts = [
        [0.0, 0.0, 0.0, 0.0],
        [0.01, -0.02, 0.03, -0.04],
        [-0.049, 0.049, -0.049, 0.049],
        [2.3, 1.0, 0.0, 0.0],          # runs off the track (x threshold)
        [0.0, 0.0, 0.2, 0.5],          # falls (theta threshold)
        [-1.0, -0.5, -0.1, 0.3],
    ]
    for s in starts:
        cases.append((f"random actions from {s}", s, rng.integers(0, 2, size=200).tolist(), None))
        cases.append((f"all-right from {s}", s, [1] * 200, None))
    for _ in range(4):
        s = rng.uniform(-0.05, 0.05, size=4).tolist()
        cases.append((f"random actions from {np.round(s, 4).tolist()}", s, rng.integers(0, 2, size=200).tolist(), None))
    # A balancing controller keeps the pole up, so the 500-step truncation is reached.
    balance = lambda o: int(o[2] + 0.5 * o[3] + 0.01 * o[0] + 0.1 * o[1] > 0)
    cases.append(("balancing controller to truncation", [0.01, 0.0, 0.02, 0.0], None, balance))

    failures = 0
    max_error = 0.0
    total_steps = 0
    for name, state, actions, controller in cases:
        taken, expected = gym_episode(gym, np, state, actions=actions, controller=controller)
        got = swift_episode(binary, state, taken)[: len(expected)]
        problem = None
        if len(got) != len(expected):
            problem = f"switchgym printed {len(got)} lines for the episode, gymnasium {len(expected)}"
        for t, (e, g) in enumerate(zip(expected, got)):
            if problem:
                break
            err = max(abs(a - b) for a, b in zip(e[0], g[0]))
            max_error = max(max_error, err)
            if err > TOLERANCE or len(e[0]) != len(g[0]):
                problem = f"line {t}: obs {g[0]} vs gymnasium {e[0]} (max error {err:.3g})"
            elif e[1:] != g[1:]:
                problem = f"line {t}: (action, reward, terminated, truncated) {g[1:]} vs gymnasium {e[1:]}"
        total_steps += len(expected) - 1
        ending = "terminated" if expected[-1][3] else ("truncated" if expected[-1][4] else "running")
        if problem:
            failures += 1
            print(f"FAIL {name}: {problem}")
        else:
            print(f"ok   {name}: {len(expected) - 1} steps, {ending}")
    print(f"gymnasium {gym.__version__}: {len(cases) - failures}/{len(cases)} cases match, "
          f"{total_steps} steps, max |obs error| {max_error:.3g} (tolerance {TOLERANCE})")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
