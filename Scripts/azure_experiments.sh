#!/usr/bin/env bash
# The experiments on the shared Azure traces (../shared/traces must sit next to the package):
#
#   ./Scripts/azure_experiments.sh functions   # envs/vision-functions.toml on the Azure Functions 2019 sample
#   ./Scripts/azure_experiments.sh llm         # envs/llm-code.toml on the Azure LLM 2023 code trace
#   ./Scripts/azure_experiments.sh all         # both (the default)
#
# Each imports its trace into the dataset the spec names (datasets/azure-functions.h5,
# datasets/azure-llm-code.h5), splits it 70/30 in time, trains PPO on the first 70% with three
# seeds, evaluates the three policies against every baseline on the held-out 30% and exports the
# report to notebooks-export/azure-<name>/. Extra arguments after the name go to
# `switchgym quickstart` (e.g. --steps 300000). llm-code.toml trains with load augmentation
# ([training] load_scale = [0.8, 1.25]: each training episode's load scaled by a factor drawn from
# the seed); the evaluation replays the held-out part as it is. About 6 minutes (functions) and
# 3 minutes (llm) on two cores once built.
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
[ $# -gt 0 ] && shift
case "$which" in functions|llm|all) ;; *)
    echo "azure_experiments.sh: expected functions, llm or all, got '$which'" >&2; exit 64 ;;
esac
TRACES=../shared/traces
if [ ! -d "$TRACES" ]; then
    echo "azure_experiments.sh: $TRACES is absent: the shared traces folder must sit next to the package" >&2
    exit 66
fi
./Scripts/bootstrap.sh
swift build -c release --product switchgym >&2
B="$(swift build -c release --show-bin-path)/switchgym"
mkdir -p datasets

# experiment NAME SOURCE FORMAT DATASET SPEC STEPS [quickstart arguments...]
experiment() {
    local name=$1 source=$2 format=$3 dataset=$4 spec=$5 steps=$6
    shift 6
    if [ ! -f "$dataset" ]; then
        "$B" traces import "$source" --format "$format" --seed 0 -o "$dataset"
    fi
    "$B" quickstart --dataset "$dataset" --env "$spec" --seed 0 --seed 1 --seed 2 --steps "$steps" \
        --out "checkpoints/azure-$name" --export "notebooks-export/azure-$name" "$@"
}

if [ "$which" = functions ] || [ "$which" = all ]; then
    experiment functions "$TRACES/azure_functions_2019_sample500/invocations.csv" azure-functions \
        datasets/azure-functions.h5 envs/vision-functions.toml 1500000 "$@"
fi
if [ "$which" = llm ] || [ "$which" = all ]; then
    experiment llm "$TRACES/azure_llm_2023/AzureLLMInferenceTrace_code.csv" azure-llm \
        datasets/azure-llm-code.h5 envs/llm-code.toml 600000 "$@"
fi
