#!/usr/bin/env python3
"""SwitchGym side by side with its peers (Gymnasium, Stable-Baselines3, torch, numpy), one run,
interleaved A B A B: the driver of Scripts/bench_peers.sh (which makes the venv and the build).

    python Scripts/bench_peers.py --bin .build/release/switchgym --lib .build/release/libSwitchGymC.so [--rounds 3]

Each round measures, ours then theirs, one after the other:
- CartPole-v1 steps/s: native (`switchgym bench envs`, vector of --vector envs), the binding
  single and vector, Gymnasium single and SyncVectorEnv (vectors of --vector envs, random actions);
- PPO and DQN time-to-solve, seed = round, two criteria (each the same for ours and SB3's, which
  uses the RL Zoo's tuned CartPole-v1 settings):
  * evaluation (the issue's "mean return >= 475 over 20 episodes", read as SB3 users stop a run):
    the greedy policy plays 20 episodes on a separate env after the first update at or past each
    multiple of --eval-every env steps, and the run stops at the first evaluation with mean >= 475:
    `switchgym train --stop-at-return 475 --stop-on eval --eval-every N --eval-episodes 20` vs SB3's
    `EvalCallback(n_eval_episodes=20, callback_on_new_best=StopTrainingOnRewardThreshold(475))`,
    its evaluation moved from mid-rollout to right after the update (as ours) so that both
    evaluate the policies of the same steps. Times include the evaluation episodes;
  * training window (PPO only): the mean return of the last 20 training episodes >= 475
    (`switchgym train --stop-at-return 475`, an SB3 callback over the Monitor's episodes). It
    does not suit DQN: its training episodes explore (ε = 0.04 at the end), so their mean stays
    below 475 long after the greedy policy solves CartPole;
  * with --ref-bin, a reference `switchgym` (e.g. main's) runs the same, interleaved, as "before";
- MLP 16-64-64-8 (tanh) batch-1 forward: ours (`switchgym bench agents --algorithms none`) vs
  torch (`nn.Sequential`, no_grad) and numpy.
Then prints the medians over rounds, the per-seed times, and the ratios against the issue's goals.
Times to solve are wall seconds (the ratios against the goals), with CPU seconds beside them
(steadier on a shared machine): ours the whole `switchgym train` process (start-up, checkpoints,
metrics files and evaluations included), SB3's from building the model to the stop (imports
excluded, evaluations included).
Everything runs on one thread (OpenBLAS, torch).
"""
import argparse
import collections
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyclient  # noqa: E402
from steprate import rate, single_stepper, vector_stepper  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WINDOW, SOLVED = 20, 475.0


def cpu_seconds():
    """This process's user + system CPU seconds (all threads)."""
    t = os.times()
    return t.user + t.system


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def steps_per_second(gym, np, switchgym, binary, n, seconds):
    out = {}
    r = subprocess.run([binary, "bench", "envs", "--env", "CartPole-v1", "--json", "--seconds", str(seconds),
                        "--copies", str(n)], capture_output=True, text=True, timeout=120)
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    if rows:
        out["native"] = float(rows[0]["steps_per_second"])
    else:
        print(f"  (switchgym bench envs failed: {(r.stdout + r.stderr)[-300:]})", file=sys.stderr)
    actions = np.random.default_rng(0).integers(0, 2, size=(4096, n))
    ours_single, theirs_single = gym.make("switchgym/CartPole-v1"), gym.make("CartPole-v1")
    ours_vec = switchgym.make_vec("CartPole-v1", num_envs=n)
    theirs_vec = gym.vector.SyncVectorEnv([lambda: gym.make("CartPole-v1") for _ in range(n)])
    out["binding single"] = rate(single_stepper(ours_single, actions), seconds, warmup=200, batch=256)
    out["gymnasium single"] = rate(single_stepper(theirs_single, actions), seconds, warmup=200, batch=256)
    out["binding vector"] = rate(vector_stepper(ours_vec, actions), seconds, warmup=200, batch=256)
    out["SyncVectorEnv"] = rate(vector_stepper(theirs_vec, actions), seconds, warmup=200, batch=256)
    for e in (ours_single, theirs_single, ours_vec, theirs_vec):
        e.close()
    return out


def ours_to_solve(binary, algo, seed, budget, eval_every=None):
    """(solved, wall seconds, steps, CPU seconds) of `switchgym train --stop-at-return 475`, on the
    training window, or with `eval_every` on the evaluation mean (`--stop-on eval`, 20 episodes)."""
    criterion = [] if eval_every is None else ["--stop-on", "eval", "--eval-every", str(eval_every),
                                                "--eval-episodes", str(WINDOW)]
    with tempfile.TemporaryDirectory() as tmp:
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run([binary, "train", "--env", "CartPole-v1", "--algo", algo, "--seed", str(seed),
                            "--steps", str(budget), "--stop-at-return", str(SOLVED), "--out", os.path.join(tmp, "run"),
                            "--quiet"] + criterion, capture_output=True, text=True, timeout=1800)
        wall = time.perf_counter() - t0
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    if r.returncode != 0:
        raise RuntimeError(f"switchgym train failed: {(r.stdout + r.stderr)[-500:]}")
    line = r.stdout.strip().splitlines()[-1]
    steps = int(line.split(": ", 1)[1].split(" steps", 1)[0])
    return "reached --stop-at-return" in line, wall, steps, cpu


def sb3_to_solve(gym, env_id, algo, seed, budget, eval_every=None):
    """(solved, wall seconds, steps, CPU seconds) of SB3 with the RL Zoo's CartPole-v1 settings, stopping when
    the mean return of the last 20 training episodes reaches 475, or with `eval_every` at the
    first evaluation (20 greedy episodes) whose mean reaches 475."""
    from stable_baselines3 import DQN, PPO
    pyclient.sb3_logs_in_scratch()
    from stable_baselines3.common.callbacks import BaseCallback, EvalCallback, StopTrainingOnRewardThreshold
    from stable_baselines3.common.env_util import make_vec_env

    class Window(BaseCallback):
        def __init__(self):
            super().__init__()
            self.returns = collections.deque(maxlen=WINDOW)
            self.solved = False

        def _on_step(self):
            for info in self.locals.get("infos", []):
                if "episode" in info:
                    self.returns.append(info["episode"]["r"])
            self.solved = len(self.returns) == WINDOW and sum(self.returns) / WINDOW >= SOLVED
            return not self.solved

    class EvalAfterUpdate(EvalCallback):
        """SB3's EvalCallback (stopping through StopTrainingOnRewardThreshold), evaluating at the
        start of the first rollout at or past each multiple of `every` env steps, i.e. right
        after the update, as `switchgym train --eval-every` does (EvalCallback's own eval_freq
        counts vector steps and fires mid-rollout, before that rollout's update)."""

        def __init__(self, eval_env, every, **kw):
            super().__init__(eval_env, eval_freq=1, **kw)
            self.every, self.next, self.go = every, every, True

        def _on_step(self):
            return self.go

        def _on_rollout_start(self):
            if self.model.num_timesteps >= self.next:
                self.next = (self.model.num_timesteps // self.every + 1) * self.every
                self.go = super()._on_step()  # eval_freq=1: evaluates now

        @property
        def solved(self):
            return self.best_mean_reward >= SOLVED

    kwargs = {"render_mode": None} if env_id.startswith("switchgym/") else None
    t0, c0 = time.perf_counter(), cpu_seconds()
    if algo == "ppo":
        env = make_vec_env(env_id, n_envs=8, seed=seed, env_kwargs=kwargs)
        model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                    learning_rate=lambda p: p * 0.001, clip_range=lambda p: p * 0.2, seed=seed, device="cpu", verbose=0)
    else:
        env = make_vec_env(env_id, n_envs=1, seed=seed, env_kwargs=kwargs)
        model = DQN("MlpPolicy", env, learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000,
                    gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
                    exploration_final_eps=0.04, policy_kwargs=dict(net_arch=[256, 256]), seed=seed, device="cpu", verbose=0)
    if eval_every is None:
        cb, eval_env = Window(), None
    else:
        eval_env = make_vec_env(env_id, n_envs=1, seed=seed + 1_000_000, env_kwargs=kwargs)
        cb = EvalAfterUpdate(eval_env, eval_every, n_eval_episodes=WINDOW, deterministic=True, verbose=0,
                             callback_on_new_best=StopTrainingOnRewardThreshold(reward_threshold=SOLVED, verbose=0))
    model.learn(total_timesteps=budget, callback=cb)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    env.close()
    if eval_env is not None:
        eval_env.close()
    return cb.solved, wall, model.num_timesteps, cpu


def mlp_forward(np, torch, binary):
    out = {}
    r = subprocess.run([binary, "bench", "agents", "--algorithms", "none", "--json"], capture_output=True, text=True,
                       timeout=300)
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    if rows:
        out["ours"] = float(rows[-1]["forward_single_ns"])
    net = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64), torch.nn.Tanh(),
                              torch.nn.Linear(64, 8))
    x = torch.randn(1, 16)

    def best_ns(body, iterations):
        for _ in range(iterations // 10):
            body()
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(iterations):
                body()
            best = min(best, (time.perf_counter() - t0) / iterations * 1e9)
        return best

    with torch.no_grad():
        out["torch"] = best_ns(lambda: net(x), 20_000)
    Ws = [(p.weight.detach().numpy().copy(), p.bias.detach().numpy().copy()) for p in net if hasattr(p, "weight")]
    xn = x.numpy().reshape(16).copy()

    def numpy_forward():
        h = np.tanh(Ws[0][0] @ xn + Ws[0][1])
        h = np.tanh(Ws[1][0] @ h + Ws[1][1])
        return Ws[2][0] @ h + Ws[2][1]
    out["numpy"] = best_ns(numpy_forward, 50_000)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="the switchgym executable (a release build)")
    ap.add_argument("--lib", required=True, help="libSwitchGymC (a release build)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds (each time-to-solve uses seed = round)")
    ap.add_argument("--seconds", type=float, default=1.0, help="seconds per steps/s measurement")
    ap.add_argument("--vector", type=int, default=16, help="sub-envs of the vector envs")
    ap.add_argument("--ref-bin", help="a reference switchgym (e.g. main's release build) timed the same, interleaved, as 'before'")
    ap.add_argument("--eval-every", type=int, default=2048, help="env steps between evaluations (evaluation criterion)")
    ap.add_argument("--skip", default="", help="comma-separated parts to leave out: steps, ppo (PPO, both criteria), "
                    "sb3-binding, dqn, mlp")
    ap.add_argument("--json", help="also write every measurement (JSON) here")
    args = ap.parse_args()
    os.environ["SWITCHGYM_LIB"] = args.lib
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import gymnasium as gym
    import numpy as np
    import torch

    import switchgym
    torch.set_num_threads(1)
    skip = set(filter(None, args.skip.split(",")))
    m = collections.defaultdict(list)
    solve = collections.defaultdict(list)  # (what) -> [(seed, solved, wall, steps, cpu)]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}; "
          f"python {platform.python_version()}, gymnasium {gym.__version__}, torch {torch.__version__}", flush=True)
    ours = [("ours", args.bin)] + ([("ours before", args.ref_bin)] if args.ref_bin else [])
    ev = args.eval_every
    for rnd in range(args.rounds):
        seed = rnd
        print(f"-- round {rnd + 1}/{args.rounds} (seed {seed})", flush=True)
        if "steps" not in skip:
            for k, v in steps_per_second(gym, np, switchgym, args.bin, args.vector, args.seconds).items():
                m[f"steps/s {k}"].append(v)
        if "ppo" not in skip:
            for who, b in ours:
                solve[f"PPO {who} (eval)"].append((seed, *ours_to_solve(b, "ppo", seed, 100_000, ev)))
            solve["PPO SB3 (eval)"].append((seed, *sb3_to_solve(gym, "CartPole-v1", "ppo", seed, 100_000, ev)))
            for who, b in ours:
                solve[f"PPO {who} (window)"].append((seed, *ours_to_solve(b, "ppo", seed, 100_000)))
            solve["PPO SB3 (window)"].append((seed, *sb3_to_solve(gym, "CartPole-v1", "ppo", seed, 100_000)))
        if "sb3-binding" not in skip:
            solve["PPO SB3 via binding (window)"].append((seed, *sb3_to_solve(gym, "switchgym/CartPole-v1", "ppo", seed,
                                                                                 100_000)))
        if "dqn" not in skip:
            for who, b in ours:
                solve[f"DQN {who} (eval)"].append((seed, *ours_to_solve(b, "dqn", seed, 50_000, ev)))
            solve["DQN SB3 (eval)"].append((seed, *sb3_to_solve(gym, "CartPole-v1", "dqn", seed, 50_000, ev)))
        if "mlp" not in skip:
            for k, v in mlp_forward(np, torch, args.bin).items():
                m[f"MLP forward ns {k}"].append(v)
        for k in sorted(solve):
            s, ok, wall, steps, cpu = solve[k][-1]
            print(f"  {k:30s} seed {s}: {'solved' if ok else 'NOT solved'} at {steps} steps in {wall:.2f} s "
                  f"({cpu:.2f} s CPU)", flush=True)

    print(f"\nmedians over {args.rounds} rounds (interleaved ours/theirs):")
    med = {k: median(v) for k, v in m.items()}
    for k, v in med.items():
        print(f"  {k:36s} {v:,.0f}" + ("" if k.startswith("MLP") else " steps/s"))
    walls, cpus = {}, {}
    for k, runs in sorted(solve.items()):
        ok = [r for r in runs if r[1]]
        walls[k] = median([r[2] for r in ok])
        cpus[k] = median([r[4] for r in ok])
        per_seed = ", ".join(f"seed {s}: {w:.2f} s ({c:.2f} s CPU) / {st} steps{'' if o else ' (NOT solved)'}"
                             for s, o, w, st, c in runs)
        print(f"  {k:36s} {len(ok)}/{len(runs)} solved; median {walls[k]:.2f} s wall, {cpus[k]:.2f} s CPU ({per_seed})")

    print("\nratios against the goals:")

    def ratio(a, b):
        return med.get(a, float("nan")) / med.get(b, float("nan"))
    lines = []
    if "steps" not in skip:
        lines.append(("native CartPole / Gymnasium single", ratio("steps/s native", "steps/s gymnasium single"), ">= 200x"))
        lines.append(("binding vector / SyncVectorEnv", ratio("steps/s binding vector", "steps/s SyncVectorEnv"), ">= 20x"))
        lines.append(("binding single / Gymnasium single", ratio("steps/s binding single", "steps/s gymnasium single"), "-"))
    def wall_ratio(a, b):
        return walls.get(a, float("nan")) / walls.get(b, float("nan"))

    def cpu_ratio(a, b):
        return cpus.get(a, float("nan")) / cpus.get(b, float("nan"))
    for who in [w for w, _ in ours]:
        if "ppo" not in skip:
            lines.append((f"SB3 PPO time / {who} (20-episode evaluation)", wall_ratio("PPO SB3 (eval)", f"PPO {who} (eval)"),
                          ">= 25x"))
            lines.append((f"  the same in CPU seconds", cpu_ratio("PPO SB3 (eval)", f"PPO {who} (eval)"), "-"))
            lines.append((f"SB3 PPO time / {who} (20-episode training window)",
                          wall_ratio("PPO SB3 (window)", f"PPO {who} (window)"), ">= 25x"))
            lines.append((f"  the same in CPU seconds", cpu_ratio("PPO SB3 (window)", f"PPO {who} (window)"), "-"))
        if "dqn" not in skip:
            solved = sum(1 for r in solve[f"DQN {who} (eval)"] if r[1])
            lines.append((f"SB3 DQN time / {who} (20-episode evaluation; {solved}/{args.rounds} solved)",
                          wall_ratio("DQN SB3 (eval)", f"DQN {who} (eval)"), ">= 10x, 3/3"))
            lines.append((f"  the same in CPU seconds", cpu_ratio("DQN SB3 (eval)", f"DQN {who} (eval)"), "-"))
    if "sb3-binding" not in skip and "ppo" not in skip:
        lines.append(("SB3 PPO on Gymnasium's / on ours (time, window)",
                      wall_ratio("PPO SB3 (window)", "PPO SB3 via binding (window)"), "-"))
    if "mlp" not in skip:
        lines.append(("torch MLP forward / ours", ratio("MLP forward ns torch", "MLP forward ns ours"), ">= 40x"))
        lines.append(("numpy MLP forward / ours", ratio("MLP forward ns numpy", "MLP forward ns ours"), "-"))
    for what, r, goal in lines:
        print(f"  {what:66s} {r:8.1f}x   goal {goal}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"measurements": m, "solve": solve, "medians": med, "ratios": {w: r for w, r, _ in lines}}, f, indent=1)


if __name__ == "__main__":
    main()
