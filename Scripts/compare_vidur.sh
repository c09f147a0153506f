#!/usr/bin/env bash
# Cross-check of the token-level discrete-event simulator with Vidur (microsoft/vidur), issue 11.
# Not part of CI. Fetching Vidur is done by hand:
#
#   git clone https://github.com/microsoft/vidur /path/to/vidur        # with its large files (git lfs)
#   python3 -m venv /path/to/venv && /path/to/venv/bin/pip install -r /path/to/vidur/requirements.txt
#   VIDUR_PYTHON=/path/to/venv/bin/python ./Scripts/compare_vidur.sh /path/to/vidur [options]
#
# Options go to Scripts/compare_vidur.py: --mode step-model (default: Vidur's engine and vLLM
# scheduler timed by our step model; no profiles needed) or --mode profiled (Vidur's own
# random-forest predictor; needs data/profiling/compute/DEVICE/MODEL/attention.csv, with
# --device a100 --spec Scripts/vidur/llama31-8b-a100.toml for Llama-3-8B, the only Llama-3-8B
# profile Vidur ships), --scheduler vllm|sarathi (whole prompts, or chunked prefill),
# --max-batched-tokens N and --kv-blocks N (override both sides), --loads 1,2,4,8 (time compression
# of the trace), --work DIR.
# Prints a markdown table (README, "Cross-check with Vidur"). About 3 minutes on two cores
# (step-model mode, loads 1,2,4,8, debug build).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ] || [ ! -f "$1/vidur/main.py" ]; then
    echo "compare_vidur.sh: expected the path of a microsoft/vidur checkout as the first argument${1:+ (got '$1': no vidur/main.py there)}" >&2
    echo "  fetch it by hand (git clone https://github.com/microsoft/vidur) and install its requirements.txt" >&2
    exit 66
fi
VIDUR=$(cd "$1" && pwd)
shift
PY=${VIDUR_PYTHON:-python3}
if ! "$PY" -c 'import pandas, sklearn, ddsketch, fasteners' 2>/dev/null; then
    echo "compare_vidur.sh: $PY lacks Vidur's requirements (pandas, scikit-learn, ddsketch, fasteners, ...):" >&2
    echo "  $PY -m pip install -r $VIDUR/requirements.txt, or set VIDUR_PYTHON" >&2
    exit 69
fi
TRACE=../shared/traces/azure_llm_2023/AzureLLMInferenceTrace_code.csv
if [ ! -f "$TRACE" ]; then
    echo "compare_vidur.sh: $TRACE is absent: the shared traces folder must sit next to the package" >&2
    exit 66
fi
B=${SWITCHGYM:-}
if [ -z "$B" ]; then
    swift build -c release --product switchgym >&2
    B="$(swift build -c release --show-bin-path)/switchgym"
fi
exec "$PY" Scripts/compare_vidur.py --vidur "$VIDUR" --vidur-python "$PY" --switchgym "$B" --trace "$TRACE" "$@"
