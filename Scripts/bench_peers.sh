#!/usr/bin/env bash
# SwitchGym side by side with Gymnasium, Stable-Baselines3, torch and numpy (issue 14).
#
#   Scripts/bench_peers.sh [--rounds 3] [other options of Scripts/bench_peers.py]
#
# 1. builds the release `switchgym` and libSwitchGymC (swift build -c release, in
#    $SWITCHGYM_SCRATCH_PATH when set, else .build);
# 2. makes a throwaway venv (removed at exit; $SWITCHGYM_PEERS_VENV keeps one instead) with
#    gymnasium, stable-baselines3 and the CPU build of torch: a `torch-*+cpu-*.whl` found in pip's
#    find-links folders ($PIP_FIND_LINKS, `pip config`) or /opt/wheels first, then the CPU index
#    (https://download.pytorch.org/whl/cpu), else it stops with the reason (PyPI's default Linux
#    torch pulls ~3 GB of CUDA libraries, so it is not used);
# 3. runs Scripts/bench_peers.py: ours and theirs interleaved, --rounds rounds, medians and ratios.
# Nothing is left running; the venv is never inside the repository.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

echo "-- release build (switchgym, libSwitchGymC)" >&2
SCRATCH="${SWITCHGYM_SCRATCH_PATH:-$ROOT/.build}"
swift build -c release --scratch-path "$SCRATCH" --product switchgym >&2
swift build -c release --scratch-path "$SCRATCH" --product SwitchGymC >&2
BIN="$SCRATCH/release/switchgym"
LIB="$SCRATCH/release/libSwitchGymC.so"
[ "$(uname)" = Darwin ] && LIB="$SCRATCH/release/libSwitchGymC.dylib"

if [ -n "${SWITCHGYM_PEERS_VENV:-}" ]; then
    VENV="$SWITCHGYM_PEERS_VENV"
else
    TMP="$(mktemp -d "${TMPDIR:-/tmp}/switchgym-peers.XXXXXX")"
    trap 'rm -rf "$TMP"' EXIT
    VENV="$TMP/venv"
fi
PY="$VENV/bin/python"
if [ ! -x "$PY" ]; then
    echo "-- venv $VENV" >&2
    python3 -m venv "$VENV"
fi
PIP=("$PY" -m pip install --quiet --disable-pip-version-check)

if ! "$PY" -c "import torch" 2>/dev/null; then
    wheel=""
    dirs="${PIP_FIND_LINKS:-} $(python3 -m pip config list 2>/dev/null | sed -n "s/.*find-links='\(.*\)'/\1/p") /opt/wheels"
    for d in $dirs; do
        for w in "$d"/torch-*+cpu-*.whl; do [ -f "$w" ] && wheel="$w"; done
    done
    if [ -n "$wheel" ]; then
        echo "-- torch from $wheel" >&2
        "${PIP[@]}" "$wheel"
    elif ! "${PIP[@]}" torch --index-url https://download.pytorch.org/whl/cpu; then
        echo "bench_peers: no CPU torch: no torch-*+cpu-*.whl in pip's find-links folders or /opt/wheels, and" \
             "https://download.pytorch.org/whl/cpu is unreachable; put a CPU wheel in a find-links folder." >&2
        exit 2
    fi
fi
echo "-- gymnasium, stable-baselines3 (PyPI)" >&2
"${PIP[@]}" gymnasium stable-baselines3 numpy

"$PY" "$ROOT/Scripts/bench_peers.py" --bin "$BIN" --lib "$LIB" "$@"
