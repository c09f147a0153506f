#!/usr/bin/env python3
"""Cross-check of SwitchGym's token-level discrete-event simulator (DES) with Vidur.

Usage (Scripts/compare_vidur.sh wraps it):

    compare_vidur.py --vidur VIDUR_CHECKOUT --switchgym BIN [--mode step-model|profiled]
                     [--spec Scripts/vidur/llama31-8b-h100.toml] [--loads 1,2,4,8] [--work DIR]

For each load factor f (the Azure LLM 2023 code trace time-compressed f times):

1. the trace is written as a `timestamps` CSV (seconds since the first request / f, prompt and
   output tokens) and imported with `switchgym traces import`;
2. the DES serves it on the spec (one device, policy hold, drain intervals at the end) and writes
   one row per request (`switchgym envs simulate --fidelity des --requests-out`);
3. Vidur replays exactly those requests (arrival, prompt and output tokens from the DES rows) on
   one replica with its vLLM scheduler (or, with --scheduler sarathi, its Sarathi scheduler against
   the spec with chunked prefill), configured like the spec (batch_size_cap = max_running,
   max_tokens_in_batch or chunk_size = max_batched_tokens, block_size, num_blocks = kv_blocks);
4. per-request TTFT and end-to-end latency of both are joined by request and summarised
   (mean, p50, p90, p99, throughput) as a markdown table.

Modes:
- profiled: Vidur's own execution-time predictor (random forest over its profiled operator
  timings, data/profiling/compute/DEVICE/MODEL/{mlp,attention}.csv). Needs those files; the
  public snapshot of microsoft/vidur read here has no attention.csv at all (large files absent),
  and Vidur has no Llama-3-8B profile on H100 (its README: A100 only). Use
  --device a100 with an A100 spec for this mode.
- step-model: Vidur's engine (request generator, vLLM replica scheduler, KV blocks, preemption,
  metrics) with its step time replaced by the spec's linear step model
  (b0 + b1 * prefill tokens + b2 * decode tokens): the same cost on both sides, so the
  differences are the schedulers'. Needs no profiles.

Only Vidur's public entry points are used: SimulationConfig's CLI, its predictor registry and
ExecutionTime; nothing of Vidur is copied.
"""
import argparse
import csv
import datetime as dt
import glob
import math
import os
import re
import subprocess
import sys
import tempfile
import tomllib

TRACE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                     "../../shared/traces/azure_llm_2023/AzureLLMInferenceTrace_code.csv")
"""The Azure LLM 2023 code trace (TIMESTAMP, ContextTokens, GeneratedTokens); --trace replaces it."""


# MARK: - Inside Vidur's interpreter: the step-model predictor


def run_vidur_with_step_model(b0_us, b1_us, b2_us, vidur_args):
    """Runs vidur.main with every batch timed by the linear step model (in Vidur's process)."""
    from vidur.entities import ExecutionTime
    from vidur.execution_time_predictor import ExecutionTimePredictorRegistry
    from vidur.types import ExecutionTimePredictorType

    class LinearStepPredictor:
        def __init__(self, **_):
            pass

        def get_execution_time(self, batch, pipeline_stage):
            prefill = batch.num_prefill_tokens
            decode = batch.num_decode_tokens
            ms = (b0_us + b1_us * prefill + b2_us * decode) * 1e-3
            # One layer whose whole time is one operator: total_time = ms * 1e-3 s.
            zero = dict.fromkeys([
                "attention_rope_execution_time", "attention_kv_cache_save_execution_time",
                "attention_decode_execution_time", "attention_prefill_execution_time",
                "attention_layer_pre_proj_execution_time", "attention_layer_post_proj_execution_time",
                "mlp_layer_down_proj_execution_time", "mlp_layer_act_execution_time", "attn_norm_time",
                "mlp_norm_time", "add_time", "tensor_parallel_communication_time",
                "pipeline_parallel_communication_time", "schedule_time", "sampler_e2e_time",
                "prepare_inputs_e2e_time", "process_model_outputs_time", "ray_comm_time"], 0.0)
            return ExecutionTime(num_layers_per_pipeline_stage=1, mlp_layer_up_proj_execution_time=ms, **zero)

    key = ExecutionTimePredictorType.LINEAR_REGRESSION
    ExecutionTimePredictorRegistry.unregister(key)
    ExecutionTimePredictorRegistry.register(key, LinearStepPredictor)
    import vidur.main
    sys.argv = ["vidur.main"] + vidur_args
    vidur.main.main()


# MARK: - Traces


def azure_rows(path):
    rows = []
    with open(path) as f:
        for r in csv.DictReader(f):
            ts = r["TIMESTAMP"]
            head, frac = ts.split(".")
            t = dt.datetime.strptime(head, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc).timestamp()
            rows.append((t + float("0." + frac), int(r["ContextTokens"]), int(r["GeneratedTokens"])))
    t0 = rows[0][0]
    return [(t - t0, p, o) for t, p, o in rows]


def write_timestamps_csv(rows, factor, path):
    with open(path, "w") as f:
        f.write("timestamp,tokens_in,tokens_out\n")
        for t, p, o in rows:
            f.write(f"{t / factor:.6f},{p},{o}\n")


def read_des(path):
    with open(path) as f:
        return [r for r in csv.DictReader(f)]


def overridden_spec(path, overrides, work):
    """A copy of the spec (in `work`) with other [variants.llm] values; its paths made absolute."""
    base = os.path.dirname(os.path.abspath(path))
    with open(path) as f:
        text = f.read()
    for key, value in overrides.items():
        pattern = rf"^{key} = \S+"
        if not re.search(pattern, text, re.M):
            sys.exit(f"compare_vidur: {path} sets no {key} of its own to override")
        text = re.sub(pattern, f"{key} = {value}", text, flags=re.M)
    text = re.sub(r'^(dataset|extends) = "([^"]+)"',
                  lambda m: f'{m.group(1)} = "{os.path.normpath(os.path.join(base, m.group(2)))}"', text, flags=re.M)
    out = os.path.join(work, "spec.toml")
    with open(out, "w") as f:
        f.write(text)
    return out


# MARK: - Statistics


def pct(xs, q):
    """Percentile with linear interpolation between order statistics (numpy's default)."""
    s = sorted(xs)
    if not s:
        return math.nan
    k = (len(s) - 1) * q
    lo = math.floor(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary(xs):
    return {"mean": sum(xs) / len(xs), "p50": pct(xs, 0.5), "p90": pct(xs, 0.9), "p99": pct(xs, 0.99)}


def rel(a, b):
    return (a - b) / b if b else math.nan


# MARK: - Runs


def run_des(args, spec, factor, work):
    rows = azure_rows(args.trace)
    csv_path = os.path.join(work, f"trace-{factor}x.csv")
    h5 = os.path.join(work, f"trace-{factor}x.h5")
    write_timestamps_csv(rows, factor, csv_path)
    subprocess.run([args.switchgym, "traces", "import", csv_path, "--format", "timestamps", "--out", h5], check=True, stdout=subprocess.DEVNULL)
    out = os.path.join(work, f"des-{factor}x.csv")
    subprocess.run([args.switchgym, "envs", "simulate", "--env", spec, "--trace", h5, "--policy", "hold",
                    "--fidelity", "des", "--drain-intervals", str(args.drain_intervals), "--requests-out", out],
                   check=True, stdout=subprocess.DEVNULL)
    return read_des(out)


def run_vidur(args, llm, des, factor, work):
    trace = os.path.join(work, f"vidur-trace-{factor}x.csv")
    with open(trace, "w") as f:
        f.write("arrived_at,num_prefill_tokens,num_decode_tokens\n")
        for r in des:
            f.write(f"{r['arrival_s']},{r['prompt_tokens']},{r['output_tokens']}\n")
    out_dir = os.path.abspath(os.path.join(work, f"vidur-{args.mode}-{args.scheduler}-{factor}x"))
    os.makedirs(out_dir, exist_ok=True)
    longest = max(int(r["prompt_tokens"]) + int(r["output_tokens"]) for r in des)
    max_tokens = 1 << max(12, math.ceil(math.log2(longest + 1)))
    predictor = "random_forrest" if args.mode == "profiled" else "linear_regression"
    sched = args.scheduler
    vargs = [
        "--replica_config_device", args.device, "--replica_config_model_name", args.model,
        "--replica_config_network_device", f"{args.device}_dgx",
        "--cluster_config_num_replicas", "1", "--replica_config_tensor_parallel_size", "1",
        "--replica_config_num_pipeline_stages", "1",
        "--request_generator_config_type", "trace_replay",
        "--trace_request_generator_config_trace_file", os.path.abspath(trace),
        "--trace_request_generator_config_max_tokens", str(max_tokens),
        "--replica_scheduler_config_type", sched,
        f"--{sched}_scheduler_config_batch_size_cap", str(llm.get("max_running", 256)),
        f"--{sched}_scheduler_config_block_size", str(llm.get("kv_block_tokens", 16)),
        f"--{sched}_scheduler_config_{'chunk_size' if sched == 'sarathi' else 'max_tokens_in_batch'}",
        str(llm.get("max_batched_tokens", 8192)),
        "--execution_time_predictor_config_type", predictor,
        f"--{predictor}_execution_time_predictor_config_prediction_max_prefill_chunk_size", str(max_tokens),
        f"--{predictor}_execution_time_predictor_config_prediction_max_batch_size", "512",
        f"--{predictor}_execution_time_predictor_config_prediction_max_tokens_per_request", str(max_tokens),
        "--metrics_config_output_dir", out_dir, "--metrics_config_cache_dir", os.path.join(out_dir, "cache"),
        "--no-metrics_config_store_plots", "--no-metrics_config_enable_chrome_trace",
    ]
    if "kv_blocks" in llm:
        vargs += [f"--{sched}_scheduler_config_num_blocks", str(llm["kv_blocks"])]
    vargs += args.vidur_arg
    env = dict(os.environ, WANDB_MODE="disabled", PYTHONPATH=args.vidur)
    if args.mode == "step-model":
        cmd = [args.vidur_python, os.path.abspath(__file__), "--inside-vidur",
               str(llm["step_base_us"]), str(llm["prefill_us_per_token"]), str(llm["decode_us_per_token"]), "--"] + vargs
    else:
        cmd = [args.vidur_python, "-m", "vidur.main"] + vargs
    subprocess.run(cmd, check=True, cwd=args.vidur, env=env, stdout=subprocess.DEVNULL)
    found = glob.glob(os.path.join(out_dir, "*", "request_metrics.csv"))
    if not found:
        sys.exit(f"compare_vidur: Vidur wrote no request_metrics.csv under {out_dir}")
    with open(sorted(found)[-1]) as f:
        return list(csv.DictReader(f))


def compare(des, vid, factor):
    """One table row per simulator and the per-request differences."""
    id_col = next(c for c in vid[0] if c.lower().replace(" ", "_") in ("request_id", "id"))
    vid = sorted(vid, key=lambda r: int(float(r[id_col])))
    answered = [r for r in des if r["dropped"] == "0"]
    if len(vid) != len(des) or len(answered) != len(des):
        print(f"note: {factor}x: {len(des)} DES rows ({len(des) - len(answered)} dropped), {len(vid)} Vidur requests")
    n = min(len(vid), len(answered))
    d_ttft = [float(r["ttft_s"]) for r in answered[:n]]
    d_e2e = [float(r["e2e_s"]) for r in answered[:n]]
    v_ttft = [float(r["prefill_e2e_time"]) for r in vid[:n]]
    v_e2e = [float(r["request_e2e_time"]) for r in vid[:n]]
    arrivals = [float(r["arrival_s"]) for r in answered[:n]]
    span_d = max(a + e for a, e in zip(arrivals, d_e2e)) - min(arrivals)
    span_v = max(a + e for a, e in zip(arrivals, v_e2e)) - min(arrivals)
    out = {
        "des": {"ttft": summary(d_ttft), "e2e": summary(d_e2e), "throughput": n / span_d},
        "vidur": {"ttft": summary(v_ttft), "e2e": summary(v_e2e), "throughput": n / span_v},
        "median_abs_rel_ttft": pct([abs(rel(a, b)) for a, b in zip(d_ttft, v_ttft)], 0.5),
        "median_abs_rel_e2e": pct([abs(rel(a, b)) for a, b in zip(d_e2e, v_e2e)], 0.5),
        "max_abs_ttft": max(abs(a - b) for a, b in zip(d_ttft, v_ttft)),
        "max_abs_e2e": max(abs(a - b) for a, b in zip(d_e2e, v_e2e)),
        "preemptions_des": sum(int(r["preemptions"]) for r in answered[:n]),
        "preemptions_vidur": sum(int(float(r.get("request_num_restarts") or 0)) for r in vid[:n]),
        "n": n,
        "rate": n / (max(arrivals) - min(arrivals)),
    }
    return out


def table(results, mode):
    lines = [f"Vidur mode: {mode}. Times in ms; difference = (DES - Vidur) / Vidur.", "",
             "| load | req/s | simulator | TTFT mean | p50 | p90 | p99 | E2E mean | p50 | p90 | p99 | throughput req/s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for factor, r in results:
        for name in ("des", "vidur"):
            s = r[name]
            t, e = s["ttft"], s["e2e"]
            lines.append(f"| {factor}x | {r['rate']:.2f} | {'SwitchGym DES' if name == 'des' else 'Vidur'} | "
                         + " | ".join(f"{1000 * t[k]:.1f}" for k in ("mean", "p50", "p90", "p99")) + " | "
                         + " | ".join(f"{1000 * e[k]:.1f}" for k in ("mean", "p50", "p90", "p99"))
                         + f" | {s['throughput']:.3f} |")
        d, v = r["des"], r["vidur"]
        lines.append(f"| {factor}x | | difference | "
                     + " | ".join(f"{100 * rel(d['ttft'][k], v['ttft'][k]):+.1f}%" for k in ("mean", "p50", "p90", "p99")) + " | "
                     + " | ".join(f"{100 * rel(d['e2e'][k], v['e2e'][k]):+.1f}%" for k in ("mean", "p50", "p90", "p99"))
                     + f" | {100 * rel(d['throughput'], v['throughput']):+.2f}% |")
    lines.append("")
    lines.append("Per request, median |DES - Vidur| / Vidur and largest |DES - Vidur|: " + "; ".join(
        f"{f}x TTFT {100 * r['median_abs_rel_ttft']:.1f}% / {1000 * r['max_abs_ttft']:.3g} ms, "
        f"E2E {100 * r['median_abs_rel_e2e']:.1f}% / {1000 * r['max_abs_e2e']:.3g} ms" for f, r in results) + ".")
    lines.append("KV preemptions (DES, Vidur restarts): " + "; ".join(
        f"{f}x {r['preemptions_des']}, {r['preemptions_vidur']}" for f, r in results) + ".")
    return "\n".join(lines)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--inside-vidur":
        b0, b1, b2 = map(float, sys.argv[2:5])
        assert sys.argv[5] == "--"
        run_vidur_with_step_model(b0, b1, b2, sys.argv[6:])
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--vidur", required=True, help="a microsoft/vidur checkout (its repository root)")
    p.add_argument("--vidur-python", default=sys.executable, help="the Python with Vidur's requirements")
    p.add_argument("--switchgym", required=True, help="the switchgym binary")
    p.add_argument("--spec", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "vidur/llama31-8b-h100.toml"))
    p.add_argument("--mode", choices=["step-model", "profiled"], default="step-model")
    p.add_argument("--device", default="h100", help="Vidur's device (profiled mode: its profiles' folder)")
    p.add_argument("--model", default="meta-llama/Meta-Llama-3-8B")
    p.add_argument("--loads", default="1,2,4,8", help="time-compression factors of the trace")
    p.add_argument("--drain-intervals", type=int, default=10)
    p.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "switchgym-vidur-compare"),
                   help="where the traces, DES rows and Vidur outputs go")
    p.add_argument("--trace", default=TRACE, help="the Azure LLM 2023 code trace CSV")
    p.add_argument("--max-batched-tokens", type=int,
                   help="override max_batched_tokens on both sides (e.g. 1000000: a budget that never binds)")
    p.add_argument("--kv-blocks", type=int, help="override kv_blocks on both sides (fewer: KV preemptions)")
    p.add_argument("--scheduler", choices=["vllm", "sarathi"], default="vllm",
                   help="Vidur's replica scheduler: vllm (whole prompts; the spec as it is) or sarathi (chunked "
                        "prefill: the spec's chunked_prefill set true, chunk_size = max_batched_tokens)")
    p.add_argument("--vidur-arg", action="append", default=[], metavar="ARG",
                   help="one more argument for vidur.main (repeat), e.g. --vidur-arg=--vllm_scheduler_config_watermark_blocks_fraction --vidur-arg=0")
    args = p.parse_args()
    if not os.path.isfile(os.path.join(args.vidur, "vidur", "main.py")):
        sys.exit(f"compare_vidur: {args.vidur} is not a Vidur checkout (no vidur/main.py); fetch microsoft/vidur first")
    if args.mode == "profiled":
        for f in ("mlp.csv", "attention.csv"):
            path = os.path.join(args.vidur, "data/profiling/compute", args.device, args.model, f)
            if not os.path.isfile(path):
                sys.exit(f"compare_vidur: profiled mode needs {path} (missing: Vidur has no profile of {args.model} "
                         f"on {args.device}, or the checkout lacks its large files); try --mode step-model")
    if not os.path.isfile(args.trace):
        sys.exit(f"compare_vidur: the Azure LLM 2023 code trace is not at {args.trace} (--trace)")
    os.makedirs(args.work, exist_ok=True)
    overrides = {k: v for k, v in (("max_batched_tokens", args.max_batched_tokens), ("kv_blocks", args.kv_blocks),
                                   ("chunked_prefill", "true" if args.scheduler == "sarathi" else None)) if v}
    if overrides:
        args.spec = overridden_spec(args.spec, overrides, args.work)
    with open(args.spec, "rb") as f:
        spec = tomllib.load(f)
    llm = spec["variants"][0]["llm"]
    results = []
    for factor in [float(x) if "." in x else int(x) for x in args.loads.split(",")]:
        des = run_des(args, args.spec, factor, args.work)
        vid = run_vidur(args, llm, des, factor, args.work)
        results.append((factor, compare(des, vid, factor)))
        print(f"{factor}x done", file=sys.stderr)
    print(table(results, args.mode))


if __name__ == "__main__":
    main()
