#!/usr/bin/env bash
# The whole test suite, as the README and CI (.ci/run) run it:
#   1. install the C libraries when missing (apt-get),
#   2. build the package in release (what users run; the checks below use this binary),
#   3. checks with real clients (h5py + hdf5plugin, gymnasium, the Python binding over
#      libSwitchGymC, which the release build makes next to the binary): each installs its Python
#      packages from PyPI into a cached virtualenv, and prints SKIP with the reason when it
#      cannot (no network, ../shared absent),
#   4. the Swift test suite (swift test), last, so its summary is the final line.
set -euo pipefail
cd "$(dirname "$0")/.."
./Scripts/bootstrap.sh

echo "== release build" >&2
swift build -c release
export SWITCHGYM_BIN="$(swift build -c release --show-bin-path)/switchgym"

echo "== checks with real clients" >&2
for check in Scripts/check_*.py; do
    [ -e "$check" ] || continue
    echo "-- $check" >&2
    python3 "$check"
done

echo "== swift test" >&2
set +e
swift test 2>&1 | grep --line-buffered -Ev '^\[[0-9]+/[0-9]+\]'
status=${PIPESTATUS[0]}
set -e
exit "$status"
