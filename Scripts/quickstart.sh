#!/usr/bin/env bash
# The main job end to end on the built-in default: installs what is missing, builds
# switchgym in release and runs `switchgym quickstart` (extra arguments are passed on).
set -euo pipefail
cd "$(dirname "$0")/.."
./Scripts/bootstrap.sh
swift build -c release --product switchgym >&2
exec "$(swift build -c release --show-bin-path)/switchgym" quickstart "$@"
