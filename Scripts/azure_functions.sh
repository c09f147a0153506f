#!/usr/bin/env bash
# The Azure Functions experiment: imports the shared Azure Functions 2019 sample (8 h, 500
# functions) into datasets/azure-functions.h5 (the dataset envs/vision-functions.toml names),
# splits it 70/30 in time, trains PPO on the first 70% with three seeds, evaluates the three
# policies against every baseline on the held-out 30% and exports the report to
# notebooks-export/azure-functions/. Extra arguments go to `switchgym quickstart`
# (e.g. --steps 600000 for a shorter run). About 12 minutes on two cores once built.
set -euo pipefail
cd "$(dirname "$0")/.."
TRACE=../shared/traces/azure_functions_2019_sample500/invocations.csv
if [ ! -f "$TRACE" ]; then
    echo "azure_functions.sh: $TRACE is absent: the shared traces folder must sit next to the package" >&2
    exit 66
fi
./Scripts/bootstrap.sh
swift build -c release --product switchgym >&2
B="$(swift build -c release --show-bin-path)/switchgym"
mkdir -p datasets
if [ ! -f datasets/azure-functions.h5 ]; then
    "$B" traces import "$TRACE" --format azure-functions --seed 0 -o datasets/azure-functions.h5
fi
exec "$B" quickstart --dataset datasets/azure-functions.h5 --env envs/vision-functions.toml \
    --seed 0 --seed 1 --seed 2 --steps 1500000 \
    --out checkpoints/azure-functions --export notebooks-export/azure-functions "$@"
