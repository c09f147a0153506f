#!/usr/bin/env bash
# Regenerates datasets/default.h5 from the built-in recipe (DefaultDataset.spec in
# Sources/SwitchGymData/DefaultDataset.swift). The output is byte-stable: the recipe
# fixes the seed and created_at, and HDF5 object timestamps are off.
set -euo pipefail
cd "$(dirname "$0")/.."
./Scripts/bootstrap.sh
swift build -c release --product switchgym >&2
"$(swift build -c release --show-bin-path)/switchgym" traces synth --preset default -o datasets/default.h5
