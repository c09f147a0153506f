#!/usr/bin/env python3
"""Stable-Baselines3 reference for `switchgym bench agents`: PPO (and optionally DQN) on
CartPole-v1 with the same RL Zoo settings and the same solve criterion, so the two can be
compared on the same machine.

    python3 Scripts/bench_sb3.py [--seeds 3] [--algorithms ppo,dqn] [--json]
    .build/release/switchgym bench agents --json > ours.jsonl
    python3 Scripts/bench_sb3.py --json --compare ours.jsonl
    python3 Scripts/bench_sb3.py --binding    # the same, on our CartPole through the Python binding

Criterion (as in the Swift bench): after every `--eval-every` updates (PPO: rollouts of
8 x 32 steps; DQN: rounds of 256 steps), the deterministic (greedy) policy plays 20 episodes
on a separate env; the run stops at the first evaluation with mean return >= 475. Reported:
the step count there and the wall and CPU seconds of training up to it (evaluation excluded).
Torch runs on one thread (`torch.set_num_threads(1)`), like OpenBLAS in the Swift bench.

Installs torch (CPU wheel, from download.pytorch.org) and stable-baselines3 into the shared
client virtualenv (see pyclient.py) on first use; prints SKIP when that is not possible.
Not named check_*.py: CI does not run it (it downloads ~200 MB and takes minutes).
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyclient  # noqa: E402


def cpu_seconds():
    t = os.times()
    return t.user + t.system


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--algorithms", default="ppo")
    ap.add_argument("--eval-every", type=int, default=1, help="updates between evaluations (PPO)")
    ap.add_argument("--dqn-eval-every", type=int, default=2, help="rounds between evaluations (DQN)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--binding", action="store_true",
                    help="train on switchgym/CartPole-v1 through the Python binding (python/, libSwitchGymC) "
                         "instead of Gymnasium's CartPole-v1, with the same settings")
    ap.add_argument("--compare", help="JSON lines from `switchgym bench agents --json` to report ratios against")
    args = ap.parse_args()

    pyclient.ensure_cpu_torch()
    pyclient.require(["torch", "gymnasium", "stable_baselines3=stable-baselines3"])
    import gymnasium as gym
    import numpy as np
    import torch
    from stable_baselines3 import DQN, PPO
    pyclient.sb3_logs_in_scratch()
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)
    env_id, env_kwargs = "CartPole-v1", None
    if args.binding:
        sys.path.insert(0, os.path.join(pyclient.ROOT, "python"))
        import switchgym  # noqa: F401  (registers switchgym/...; finds the library, see python/README.md)
        env_id, env_kwargs = "switchgym/CartPole-v1", {"render_mode": None}

    class Solved(Exception):
        pass

    class SolveCallback(BaseCallback):
        def __init__(self, eval_env, every, seed):
            super().__init__()
            self.eval_env, self.every, self.seed = eval_env, every, seed
            self.updates = 0
            self.train_wall = self.train_cpu = self.eval_wall = 0.0
            self.solved = False
            self.last_mean = 0.0
            self.mark = None

        def _on_training_start(self):
            self.mark = (time.perf_counter(), cpu_seconds())

        def _on_step(self):
            return True

        def after_update(self):
            w, c = time.perf_counter(), cpu_seconds()
            self.train_wall += w - self.mark[0]
            self.train_cpu += c - self.mark[1]
            self.updates += 1
            if self.updates % self.every == 0:
                returns = []
                obs, _ = self.eval_env.reset(seed=self.seed)
                while len(returns) < 20:
                    ret, done = 0.0, False
                    while not done:
                        action, _ = self.model.predict(obs, deterministic=True)
                        obs, r, term, trunc, _ = self.eval_env.step(int(action))
                        ret += r
                        done = term or trunc
                    returns.append(ret)
                    obs, _ = self.eval_env.reset()
                self.last_mean = float(np.mean(returns))
                self.solved = self.last_mean >= 475
            self.eval_wall += time.perf_counter() - w
            self.mark = (time.perf_counter(), cpu_seconds())
            return not self.solved

    results = []
    for algo in args.algorithms.split(","):
        for seed in range(args.seeds):
            eval_env = gym.make(env_id)
            if algo == "ppo":
                env = make_vec_env(env_id, n_envs=8, seed=seed, env_kwargs=env_kwargs)
                model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
                            ent_coef=0.0, learning_rate=lambda p: p * 0.001, clip_range=lambda p: p * 0.2,
                            seed=seed, device="cpu", verbose=0)
                total, every = 100_000, args.eval_every
            else:
                env = make_vec_env(env_id, n_envs=1, seed=seed, env_kwargs=env_kwargs)
                model = DQN("MlpPolicy", env, learning_rate=2.3e-3, batch_size=64, buffer_size=100_000,
                            learning_starts=1000, gamma=0.99, target_update_interval=10, train_freq=256,
                            gradient_steps=128, exploration_fraction=0.16, exploration_final_eps=0.04,
                            policy_kwargs=dict(net_arch=[256, 256]), seed=seed, device="cpu", verbose=0)
                total, every = 50_000, args.dqn_eval_every
            cb = SolveCallback(eval_env, every, 1_000_000 + seed)
            # Hook the end of each update: wrap `train` so evaluation happens right after it.
            original_train = model.train

            def train_and_check(*a, _orig=original_train, _cb=cb, **kw):
                _orig(*a, **kw)
                if not _cb.after_update():
                    raise Solved()
            model.train = train_and_check
            try:
                model.learn(total_timesteps=total, callback=cb)
            except Solved:
                pass
            r = dict(bench="agents-sb3", algorithm=algo, env=env_id, seed=seed, solved=cb.solved,
                     steps_to_solve=model.num_timesteps if cb.solved else None, steps_run=model.num_timesteps,
                     updates=cb.updates, train_wall_s=cb.train_wall, train_cpu_s=cb.train_cpu, eval_wall_s=cb.eval_wall,
                     last_eval_mean_return=cb.last_mean)
            results.append(r)
            if args.json:
                print(json.dumps(r, sort_keys=True), flush=True)
            else:
                what = f"solved at {model.num_timesteps} steps" if cb.solved else f"NOT solved in {model.num_timesteps} steps"
                print(f"sb3 {algo} seed {seed}: {what} ({cb.updates} updates), train {cb.train_wall:.2f} s wall / "
                      f"{cb.train_cpu:.2f} s CPU, eval {cb.eval_wall:.2f} s, last eval mean {cb.last_mean:.1f}", flush=True)

    if args.compare:
        ours = [json.loads(line) for line in open(args.compare) if line.strip().startswith("{")]
        for algo in sorted({r["algorithm"] for r in results}):
            mine = [o for o in ours if o.get("algorithm") == algo and o.get("solved")]
            theirs = [r for r in results if r["algorithm"] == algo and r["solved"]]
            if mine and theirs:
                w_ours = sum(o["train_wall_s"] for o in mine) / len(mine)
                w_sb3 = sum(r["train_wall_s"] for r in theirs) / len(theirs)
                s_ours = sum(o["steps_to_solve"] for o in mine) / len(mine)
                s_sb3 = sum(r["steps_to_solve"] for r in theirs) / len(theirs)
                line = dict(bench="agents-vs-sb3", algorithm=algo, switchgym_wall_s=w_ours, sb3_wall_s=w_sb3,
                            wall_ratio_sb3_over_switchgym=w_sb3 / w_ours, switchgym_steps=s_ours, sb3_steps=s_sb3)
                print(json.dumps(line, sort_keys=True) if args.json else
                      f"{algo}: SwitchGym {w_ours:.2f} s / {s_ours:.0f} steps vs SB3 {w_sb3:.2f} s / {s_sb3:.0f} steps "
                      f"(SB3 takes {w_sb3 / w_ours:.1f}x the wall time)")


if __name__ == "__main__":
    main()
