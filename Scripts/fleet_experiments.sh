#!/usr/bin/env bash
# The fleet-scale experiments: PPO on fleets of real size (policy = auto: class-level moves above
# 16 devices) and family policies (one actor shared by every device) across fleet sizes.
#
#   ./Scripts/fleet_experiments.sh clusters   # envs/vision-cluster.toml (64 GPUs) and envs/llm-cluster.toml (128 GPUs)
#   ./Scripts/fleet_experiments.sh transfer   # vision-zoo resized to 8 and 32 GPUs: train on 8, evaluate on 32
#   ./Scripts/fleet_experiments.sh all        # both (the default)
#
# `clusters` runs the quickstart on each large scenario (the default dataset split 70/30 in time,
# PPO on the first 70%, every baseline and the oracle bound on the last 30%), exporting to
# notebooks-export/fleet-<name>/. `transfer` writes two specs extending vision-zoo (8 and 32 A100s,
# the rate scaled with the fleet) into checkpoints/fleet-transfer/, trains on 8 GPUs, evaluates
# that policy on the 32-GPU fleet's held-out part beside a policy trained on 32 GPUs and every
# baseline. Extra arguments go to each `switchgym quickstart`. About 30 minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
[ $# -gt 0 ] && shift
case "$which" in clusters|transfer|all) ;; *)
    echo "fleet_experiments.sh: expected clusters, transfer or all, got '$which'" >&2; exit 64 ;;
esac
./Scripts/bootstrap.sh
swift build -c release --product switchgym >&2
B="$(swift build -c release --show-bin-path)/switchgym"
[ -f datasets/default.h5 ] || "$B" traces synth --preset default -o datasets/default.h5
mkdir -p checkpoints
# A smaller network than the serving default ([128, 128]): the actor reads one device's row,
# and every step runs it once per device.
cfg=checkpoints/fleet-ppo.json
echo '{"net_arch": [64, 64]}' > "$cfg"
# The transfer runs compare family policies across fleet sizes (auto would pick moves on 32).
family=checkpoints/fleet-ppo-family.json
echo '{"net_arch": [64, 64], "policy": "family"}' > "$family"

if [ "$which" = clusters ] || [ "$which" = all ]; then
    "$B" quickstart --env envs/vision-cluster.toml --seed 0 --steps 1000000 --config "$cfg" \
        --out checkpoints/fleet-vision-cluster --export notebooks-export/fleet-vision-cluster "$@"
    "$B" quickstart --env envs/llm-cluster.toml --seed 0 --steps 1000000 --config "$cfg" \
        --out checkpoints/fleet-llm-cluster --export notebooks-export/fleet-llm-cluster "$@"
fi

if [ "$which" = transfer ] || [ "$which" = all ]; then
    dir=checkpoints/fleet-transfer
    mkdir -p "$dir"
    for n in 8 32; do
        cat > "$dir/vision-$n.toml" <<SPEC
# vision-zoo on $n A100s, the rate scaled with the fleet (1,000 queries/s per GPU, as vision-zoo).
extends = "../../envs/vision-zoo.toml"
name = "vision-zoo-$n"

[trace]
dataset = "../../datasets/default.h5"
mean_rate = $((1000 * n)).0

[[fleet]]
name = "a100"
kind = "gpu"
memory_gb = 80.0
count = $n
host_ram_gb = 8.0
initial = "efficientnet-b0-amp"
SPEC
    done
    "$B" quickstart --env "$dir/vision-8.toml" --seed 0 --steps 300000 --config "$family" \
        --out "$dir/on8" --export notebooks-export/fleet-transfer-8 "$@"
    "$B" quickstart --env "$dir/vision-32.toml" --seed 0 --steps 300000 --config "$family" \
        --out "$dir/on32" --export notebooks-export/fleet-transfer-32 "$@"
    echo "== the 8-GPU policy and the 32-GPU policy on the 32-GPU fleet's held-out part"
    "$B" eval "$dir/on8/run" "$dir/on32/run" --env "$dir/vision-32.toml" --trace "$dir/on32/heldout.h5" --baselines all
fi
