#!/usr/bin/env bash
# Installs the C libraries SwitchGym links against, when they are missing.
# Safe to run repeatedly; needs root (or sudo) only when something must be installed.
set -euo pipefail

need=()
pkg-config --exists hdf5 2>/dev/null || need+=(libhdf5-dev)
pkg-config --exists libzstd 2>/dev/null || need+=(libzstd-dev)
pkg-config --exists openblas 2>/dev/null || need+=(libopenblas-dev)
pkg-config --exists zlib 2>/dev/null || need+=(zlib1g-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)

if ((${#need[@]})); then
    echo "bootstrap: installing ${need[*]}" >&2
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends pkg-config "${need[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "bootstrap: swift is not on PATH; install a Swift 6 toolchain (https://swift.org/install)" >&2
    exit 1
fi
