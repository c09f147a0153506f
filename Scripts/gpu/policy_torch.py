#!/usr/bin/env python3
"""A SwitchGym policy file (docs/policy-format.md) in PyTorch, batched on the GPU.

Usage: policy_torch.py CASE_DIR...   (each made by Scripts/gpu/prepare.sh)
Each CASE_DIR holds policy.safetensors, inputs.npz (obs_codes uint8: observation = code / 32,
mask_bits: np.packbits of the mask rows) and expected.npy (int16 actions `switchgym act` computed
on another machine). Prints agreement and GPU batch latency per case; exits non-zero on any
disagreement. Needs torch and numpy only (the safetensors container is parsed here).
"""
import json
import struct
import sys
import time

import numpy as np
import torch


def read_policy(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    meta = header.pop("__metadata__")
    doc = json.loads(meta["policy"])
    import hashlib
    digest = hashlib.sha256(data + meta["policy"].encode("utf-8")).hexdigest()
    if digest != meta["sha256"]:
        raise SystemExit(f"{path}: checksum mismatch")
    dtypes = {"F32": np.float32, "I32": np.int32, "U8": np.uint8}
    tensors = {}
    for name, t in header.items():
        a, b = t["data_offsets"]
        tensors[name] = np.frombuffer(data[a:b], dtype=dtypes[t["dtype"]]).reshape(t["shape"])
    return doc, tensors


class TorchPolicy:
    def __init__(self, doc, tensors, device):
        self.doc, self.dev = doc, device
        p = doc["policy"]
        self.kind = p["kind"]
        sizes = p["network"]["sizes"]
        self.layers = [(torch.tensor(tensors[f"actor.{l}.weight"].copy(), device=device),
                        torch.tensor(tensors[f"actor.{l}.bias"].copy(), device=device)) for l in range(len(sizes) - 1)]
        self.act_fn = torch.tanh if p["network"]["hidden_activation"] == "tanh" else torch.relu
        self.components = doc["action"]["components"]
        fam = doc["observation"].get("family")
        if fam:
            self.D, self.J = fam["workers"], fam["jobs"]
            self.K = len(fam["class_names"])
            self.cls = torch.tensor(fam["worker_class"], device=device)
            counts = torch.bincount(self.cls, minlength=self.K).float()
            self.inv = torch.where(counts > 0, 1.0 / counts.clamp(min=1), torch.zeros_like(counts))
            self.so, self.sc = fam["shared_offset"], fam["shared_count"]
        self.stay = float(p.get("stay_bias", 0))
        self.B = int(p.get("beam_width", 1))
        self.L = p.get("moves_levels")

    def mlp(self, x):
        for i, (w, b) in enumerate(self.layers):
            x = x @ w.T + b
            if i < len(self.layers) - 1:
                x = self.act_fn(x)
        return x

    @staticmethod
    def masked_argmax(z, m):
        return torch.where(m, z, torch.full_like(z, -float("inf"))).argmax(dim=-1)   # first index on ties

    def held(self, obs):
        J = self.J
        blocks = obs[:, :self.D * (J + 1)].view(-1, self.D, J + 1)
        hot = blocks[:, :, :J] > 0.5
        first = torch.where(hot.any(-1), hot.float().argmax(-1), torch.zeros_like(hot[..., 0], dtype=torch.long))
        return first, blocks[:, :, J]

    def act(self, obs, mask):
        if self.kind == "mlp":
            z = self.mlp(obs)
            out, o = [], 0
            for n in self.components:
                out.append(self.masked_argmax(z[:, o:o + n], mask[:, o:o + n]))
                o += n
            return torch.stack(out, 1)
        if self.kind == "moves":
            return self.moves(obs, mask)
        return self.family(obs, mask)

    def moves(self, obs, mask):
        N, D, V, K, L = obs.shape[0], self.D, self.J, self.K, self.L
        held, pending = self.held(obs)
        idle = pending <= 0
        onehot = torch.nn.functional.one_hot(held, V).float()                      # N, D, V
        clsmat = torch.nn.functional.one_hot(self.cls, K).float()                   # D, K
        frac = torch.einsum("ndv,dk->nkv", onehot, clsmat) * self.inv[None, :, None]
        loading = torch.einsum("nd,dk->nk", (~idle).float(), clsmat) * self.inv[None, :]
        x = torch.cat([frac.reshape(N, K * V), loading, obs[:, self.so:self.so + self.sc]], 1)
        z = self.mlp(x).view(N, K, 1 + V * V * L)
        fm = mask.view(N, D, V)
        movable = torch.einsum("nda,ndb,dk->nkab", onehot * idle[..., None].float(), fm.float(), clsmat)   # N, K, from, to
        eye = torch.eye(V, device=self.dev, dtype=torch.bool)
        movable = movable.masked_fill(eye, 0)
        lv = torch.tensor([1 << l for l in range(L)], device=self.dev, dtype=torch.float32)
        cm = (movable[..., None] >= lv).reshape(N, K, V * V * L)
        cm = torch.cat([torch.ones(N, K, 1, dtype=torch.bool, device=self.dev), cm], 2)
        choice = self.masked_argmax(z, cm)                                           # N, K
        out = held.clone()
        opt = choice - 1
        has = choice > 0
        level = opt % L
        pair = opt // L
        frm, to = pair // V, pair % V
        count = torch.where(has, 1 << level, torch.zeros_like(level))
        for k in range(K):        # classes in order; a class's moves touch only its own devices
            members = (self.cls == k)
            f, t, c = frm[:, k:k + 1], to[:, k:k + 1], count[:, k:k + 1]
            allowed = fm.gather(2, t[:, None, :].expand(N, D, 1)).squeeze(2)
            elig = members[None, :] & (out == f) & idle & allowed & (f != t)
            rank = torch.cumsum(elig.long(), 1)
            switch = elig & (rank <= c)
            out = torch.where(switch, t.expand(N, D), out)
        return out

    def family(self, obs, mask):
        N, D, J, K, B = obs.shape[0], self.D, self.J, self.K, self.B
        held, _ = self.held(obs)
        blocks = obs[:, :D * (J + 1)].view(N, D, J + 1)
        shared = obs[:, self.so:self.so + self.sc]
        plan = torch.zeros(N, K * J + K, device=self.dev)
        plan.index_put_((torch.arange(N, device=self.dev)[:, None].expand(N, D), (self.cls[None, :] * J + held)),
                        self.inv[self.cls][None, :].expand(N, D).contiguous(), accumulate=True)
        # Beams: N x B; beam 0 live, the rest -inf.
        plans = plan[:, None, :].repeat(1, B, 1)
        scores = torch.full((N, B), -float("inf"), device=self.dev)
        scores[:, 0] = 0
        picks = torch.zeros(N, B, D, dtype=torch.long, device=self.dev)
        eyeK = torch.eye(K, device=self.dev)
        ar = torch.arange(N, device=self.dev)
        for w in range(D):
            k = int(self.cls[w])
            row = torch.cat([blocks[:, w][:, None, :].expand(N, B, J + 1), eyeK[k].expand(N, B, K), plans,
                             shared[:, None, :].expand(N, B, self.sc)], 2)
            z = self.mlp(row.reshape(N * B, -1)).view(N, B, J)
            z[:, :, :] += self.stay * torch.nn.functional.one_hot(held[:, w], J).float()[:, None, :]
            m = mask[:, w * J:(w + 1) * J][:, None, :].expand(N, B, J)
            if B == 1:
                j = self.masked_argmax(z[:, 0], m[:, 0])
                picks[:, 0, w] = j
                plans[ar, 0, k * J + held[:, w]] -= self.inv[k]
                plans[ar, 0, k * J + j] += self.inv[k]
                plans[:, 0, K * J + k] += self.inv[k]
                continue
            zm = torch.where(m, z, torch.full_like(z, -float("inf")))
            mx = zm.max(-1, keepdim=True).values
            lse = mx + torch.log(torch.where(m, torch.exp(z - mx), torch.zeros_like(z)).sum(-1, keepdim=True))
            cand = torch.where(m, scores[:, :, None] + (z - lse), torch.full_like(z, -float("inf"))).reshape(N, B * J)
            vals, idx = torch.sort(cand, dim=1, descending=True, stable=True)
            vals, idx = vals[:, :B], idx[:, :B]
            parent, j = idx // J, idx % J
            plans = plans.gather(1, parent[:, :, None].expand(N, B, plans.shape[2])).clone()
            picks = picks.gather(1, parent[:, :, None].expand(N, B, D)).clone()
            picks[:, :, w] = j
            hw = held[:, w][:, None].expand(N, B)
            plans.scatter_add_(2, (k * J + hw)[:, :, None], torch.full((N, B, 1), -float(self.inv[k]), device=self.dev))
            plans.scatter_add_(2, (k * J + j)[:, :, None], torch.full((N, B, 1), float(self.inv[k]), device=self.dev))
            plans[:, :, K * J + k] += self.inv[k]
            scores = vals
        return picks[:, 0, :]


def main():
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"torch {torch.__version__} on {dev} ({torch.cuda.get_device_name(0) if dev.type == 'cuda' else 'cpu'})")
    bad = 0
    for case in sys.argv[1:]:
        doc, tensors = read_policy(f"{case}/policy.safetensors")
        pol = TorchPolicy(doc, tensors, dev)
        z = np.load(f"{case}/inputs.npz")
        obs_np = z["obs_codes"].astype(np.float32) / 32.0
        width = doc["action"]["mask_width"]
        mask_np = np.unpackbits(z["mask_bits"], axis=1)[:, :width].astype(bool)
        expected = np.load(f"{case}/expected.npy").astype(np.int64)
        obs = torch.tensor(obs_np, device=dev)
        mask = torch.tensor(mask_np, device=dev)
        # Golden self-test first.
        g = pol.act(torch.tensor(tensors["golden.observation"].copy(), device=dev),
                    torch.tensor(tensors["golden.mask"].astype(bool), device=dev)).cpu().numpy()
        golden_ok = (g == tensors["golden.action"]).all()
        with torch.no_grad():
            out = torch.cat([pol.act(obs[i:i + 8192], mask[i:i + 8192]) for i in range(0, len(obs), 8192)]).cpu().numpy()
        agree = (out == expected).all(1)
        lat = {}
        with torch.no_grad():
            for batch in (1, 1024, 8192):
                x, m = obs[:batch], mask[:batch]
                for _ in range(5):
                    pol.act(x, m)
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                reps = 50 if batch == 1 else 20
                t0 = time.perf_counter()
                for _ in range(reps):
                    pol.act(x, m)
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                lat[batch] = (time.perf_counter() - t0) / reps
        print(f"{case}: {doc['policy']['kind']} (beam {doc['policy'].get('beam_width', 1)}), {len(obs)} observations x "
              f"{obs.shape[1]} floats: golden self-test {'ok' if golden_ok else 'FAILED'}; "
              f"{int(agree.sum())}/{len(agree)} actions equal to switchgym act")
        print("  GPU latency per call: " + ", ".join(f"batch {b}: {t * 1e3:.3f} ms ({t / b * 1e6:.3f} us/obs)" for b, t in lat.items()))
        if not golden_ok or not agree.all():
            bad += 1
            for i in np.nonzero(~agree)[0][:5]:
                print(f"  row {i}: torch {out[i].tolist()} vs act {expected[i].tolist()}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
