#!/usr/bin/env python3
"""A CleanRL-style PPO loop (numpy + torch) on switchgym's native vector env.

    python python/examples/ppo_vec.py --env CartPole-v1 --num-envs 8 --iterations 60
    python python/examples/ppo_vec.py --env envs/vision-zoo.toml --training   # MultiDiscrete, masked

Written here (not CleanRL's file): rollouts of `num_steps` vector steps into preallocated
arrays, GAE, clipped surrogate over minibatches, action masking for scenario envs. The vector
env returns views of its buffers, so the loop copies what it keeps (`obs[t] = next_obs`).
Autoreset is NEXT_STEP: the step after an ending is a reset step whose transition is left out
of the loss (its action was ignored).
"""
import argparse
import time

import numpy as np
import torch
import torch.nn as nn

import switchgym

p = argparse.ArgumentParser()
p.add_argument("--env", default="CartPole-v1")
p.add_argument("--training", action="store_true", help="training-scaled rewards (scenario specs)")
p.add_argument("--num-envs", type=int, default=8)
p.add_argument("--num-steps", type=int, default=128)
p.add_argument("--iterations", type=int, default=60)
p.add_argument("--lr", type=float, default=2.5e-3)
p.add_argument("--gamma", type=float, default=0.99)
p.add_argument("--gae-lambda", type=float, default=0.95)
p.add_argument("--epochs", type=int, default=4)
p.add_argument("--minibatches", type=int, default=4)
p.add_argument("--clip", type=float, default=0.2)
p.add_argument("--ent-coef", type=float, default=0.01)
p.add_argument("--seed", type=int, default=1)
args = p.parse_args()
torch.manual_seed(args.seed)
torch.set_num_threads(1)

envs = switchgym.make_vec(args.env, num_envs=args.num_envs, training=args.training)
N, T = envs.num_envs, args.num_steps
space = envs.single_action_space
nvec = np.array([space.n] if hasattr(space, "n") else space.nvec)
obs_dim = int(np.prod(envs.single_observation_space.shape))


def layer(i, o, std=np.sqrt(2)):
    lin = nn.Linear(i, o)
    nn.init.orthogonal_(lin.weight, std)
    nn.init.zeros_(lin.bias)
    return lin


actor = nn.Sequential(layer(obs_dim, 64), nn.Tanh(), layer(64, 64), nn.Tanh(), layer(64, int(nvec.sum()), 0.01))
critic = nn.Sequential(layer(obs_dim, 64), nn.Tanh(), layer(64, 64), nn.Tanh(), layer(64, 1, 1.0))
opt = torch.optim.Adam(list(actor.parameters()) + list(critic.parameters()), lr=args.lr, eps=1e-5)


def dist(x, mask):
    """Per component, a categorical over its values (masked); returns the list of them."""
    logits = actor(x).masked_fill(~mask, -1e8)
    return [torch.distributions.Categorical(logits=l) for l in torch.split(logits, nvec.tolist(), dim=-1)]


obs = np.zeros((T, N, obs_dim), np.float32)
masks = np.zeros((T, N, int(nvec.sum())), bool)
actions = np.zeros((T, N, len(nvec)), np.int64)
logps, rewards, values = (np.zeros((T, N), np.float32) for _ in range(3))
dones = np.zeros((T, N), np.float32)       # the episode ended at this step
valid = np.zeros((T, N), np.float32)       # 0 for reset steps (NEXT_STEP autoreset)
next_obs, _ = envs.reset(seed=args.seed)
next_valid = np.ones(N, np.float32)
episode_return, finished = np.zeros(N), []
start = time.perf_counter()
for it in range(1, args.iterations + 1):
    for t in range(T):
        obs[t] = next_obs.reshape(N, -1)
        masks[t] = envs.action_masks()
        valid[t] = next_valid
        with torch.no_grad():
            x = torch.from_numpy(obs[t])
            ds = dist(x, torch.from_numpy(masks[t]))
            a = torch.stack([d.sample() for d in ds], -1)
            logps[t] = sum(d.log_prob(a[:, i]) for i, d in enumerate(ds)).numpy()
            values[t] = critic(x).squeeze(-1).numpy()
        actions[t] = a.numpy()
        next_obs, r, term, trunc, _ = envs.step(actions[t] if len(nvec) > 1 else actions[t, :, 0])
        rewards[t], dones[t] = r, term
        ended = term | trunc
        episode_return += r * valid[t]
        finished += episode_return[ended].tolist()
        episode_return[ended] = 0
        # A truncated episode is cut, not ended: no bootstrap across the reset step (kept simple).
        dones[t] = np.maximum(dones[t], trunc)
        next_valid = (~ended).astype(np.float32)
    with torch.no_grad():
        last = critic(torch.from_numpy(next_obs.reshape(N, -1))).squeeze(-1).numpy()
    adv = np.zeros((T, N), np.float32)
    gae = np.zeros(N, np.float32)
    for t in reversed(range(T)):
        nv = last if t == T - 1 else values[t + 1]
        not_done = 1.0 - dones[t]
        # A reset step (valid == 0) starts a new episode: nothing flows back into the old one.
        follow = 1.0 if t == T - 1 else valid[t + 1]
        delta = rewards[t] + args.gamma * nv * not_done * follow - values[t]
        gae = delta + args.gamma * args.gae_lambda * not_done * follow * gae
        adv[t] = gae
    returns = adv + values
    keep = valid.reshape(-1) > 0
    b = {k: torch.from_numpy(v.reshape((T * N,) + v.shape[2:])[keep])
         for k, v in dict(obs=obs, masks=masks, actions=actions, logps=logps, adv=adv, returns=returns).items()}
    n = int(keep.sum())
    for _ in range(args.epochs):
        for i in torch.randperm(n).chunk(args.minibatches):
            ds = dist(b["obs"][i], b["masks"][i])
            logp = sum(d.log_prob(b["actions"][i][:, c]) for c, d in enumerate(ds))
            entropy = sum(d.entropy() for d in ds).mean()
            ratio = (logp - b["logps"][i]).exp()
            a_ = b["adv"][i]
            a_ = (a_ - a_.mean()) / (a_.std() + 1e-8)
            pg = torch.max(-a_ * ratio, -a_ * ratio.clamp(1 - args.clip, 1 + args.clip)).mean()
            v_loss = 0.5 * ((critic(b["obs"][i]).squeeze(-1) - b["returns"][i]) ** 2).mean()
            loss = pg + 0.5 * v_loss - args.ent_coef * entropy
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(list(actor.parameters()) + list(critic.parameters()), 0.5)
            opt.step()
    recent = finished[-20:]
    sps = it * T * N / (time.perf_counter() - start)
    print(f"iteration {it}: steps {it * T * N}, episodes {len(finished)}, mean return (last 20) "
          f"{np.mean(recent) if recent else float('nan'):.1f}, {sps:,.0f} steps/s", flush=True)
envs.close()
