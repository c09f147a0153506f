#!/usr/bin/env bash
# Fuzz the trace importers and the HDF5 trace reader with libFuzzer.
#
# Usage: Scripts/fuzz.sh [import|hdf5|policy] [SECONDS] [-- extra libFuzzer flags]
#   import  TraceImporter.importBytes (Azure LLM / Azure Functions / timestamps CSV,
#           gzip or zstd compressed); harness Fuzz/ImportFuzzer.swift
#   hdf5    TraceDataset.read on the input written to a temp file; harness Fuzz/HDF5Fuzzer.swift
#   policy  the C runtime's policy-file loader, sg_policy_load_memory (runtime/c), compiled with
#           clang -fsanitize=fuzzer,address,undefined; harness Fuzz/PolicyFuzzer.c; seeds are
#           policies exported by switchgym (CartPole mlp, vision-zoo family)
#   SECONDS how long to fuzz (default 600); 0 only builds the fuzzer.
#
# SwiftPM cannot build libFuzzer targets, so this compiles the sources of SwitchGymCore,
# SwitchGymIO and SwitchGymData plus the harness into ONE module with
#   swiftc -sanitize=fuzzer,address -parse-as-library -O
# (the `import SwitchGymCore` / `import SwitchGymIO` lines are stripped from a copy of the
# sources under .build/fuzz/<target>/src). The C libraries come from Sources/C*/module.modulemap
# and pkg-config (hdf5, libzstd, zlib).
#
# Layout:
#   .build/fuzz/<target>/fuzzer   the fuzzer binary
#   .build/fuzz/<target>/corpus   the growing corpus (kept between runs)
#   .build/fuzz/<target>/seeds    seeds: Tests/SwitchGymDataTests/Fixtures/import/* and
#                                 Fixtures/fuzz/import/* (import); for hdf5 datasets made
#                                 with `switchgym traces synth/import` plus Fixtures/fuzz/hdf5/*
#   fuzz-artifacts/<target>/      crashes, timeouts, OOMs (git-ignored)
#
# A crash is reproduced with `.build/fuzz/<target>/fuzzer fuzz-artifacts/<target>/crash-...`,
# minimised with `... -minimize_crash=1 -runs=100000 -exact_artifact_path=min.bin crash-...`.
# hdf5: libhdf5 1.10 itself crashes (SEGV in H5HG_read via H5Aread of a vlen string
# attribute), hangs and leaks on some corrupt files; fuzz it with
#   Scripts/fuzz.sh hdf5 600 -- -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -detect_leaks=0
# and triage each artifact by its stack (frames in libhdf5_serial.so are libhdf5 bugs).
# Keep minimised inputs as regression fixtures in Tests/SwitchGymDataTests/Fixtures/fuzz/
# (import/*.bin, hdf5/*.h5); FuzzRegressionTests feeds every one of them to the reader.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-import}"
seconds="${2:-600}"
shift $(( $# >= 2 ? 2 : $# ))
[ "${1:-}" = "--" ] && shift
case "$target" in
    import) harness=Fuzz/ImportFuzzer.swift ;;
    hdf5) harness=Fuzz/HDF5Fuzzer.swift ;;
    policy) harness=Fuzz/PolicyFuzzer.c ;;
    *) echo "usage: $0 [import|hdf5|policy] [SECONDS] [-- libFuzzer flags]" >&2; exit 2 ;;
esac

if [ "$target" = policy ]; then
    work=.build/fuzz/policy
    mkdir -p "$work/corpus" "$work/seeds" fuzz-artifacts/policy
    echo "== building $work/fuzzer" >&2
    clang -std=c99 -O1 -g -fsanitize=fuzzer,address,undefined -Iruntime/c/include \
        "$harness" runtime/c/switchgym_policy.c -lm -o "$work/fuzzer"
    if [ -z "$(ls "$work/seeds"/*.safetensors 2>/dev/null)" ]; then
        echo "== making seed policies with switchgym" >&2
        swift build --product switchgym >&2
        cli="$(swift build --show-bin-path)/switchgym"
        tmp=$(mktemp -d)
        "$cli" train --env CartPole-v1 --steps 2048 --out "$tmp/cp" --quiet >&2
        "$cli" export "$tmp/cp" --golden 4 -o "$work/seeds/cartpole.safetensors" >&2
        "$cli" train --env envs/vision-zoo.toml --steps 4096 --out "$tmp/vz" --quiet >&2
        "$cli" export "$tmp/vz" --golden 4 -o "$work/seeds/vision-zoo.safetensors" >&2
        rm -rf "$tmp"
    fi
    [ "$seconds" = 0 ] && exit 0
    echo "== fuzzing policy for ${seconds}s" >&2
    exec "$work/fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="fuzz-artifacts/policy/" "$@" "$work/corpus" "$work/seeds"
fi

root="$PWD"
work=".build/fuzz/$target"
src="$work/src"
rm -rf "$src"
mkdir -p "$src" "$work/corpus" "$work/seeds" "fuzz-artifacts/$target"
for module in SwitchGymCore SwitchGymIO SwitchGymData; do
    find "Sources/$module" -name '*.swift' | while read -r f; do
        out="$src/$module-$(echo "${f#Sources/$module/}" | tr / _)"
        sed -E 's/^(@_implementationOnly |internal |public |package )?import (SwitchGymCore|SwitchGymIO)$//' "$f" > "$out"
    done
done
cp "$harness" "$src/"

flags=()
for f in $(pkg-config --cflags hdf5 libzstd zlib); do flags+=(-Xcc "$f"); done
for f in $(pkg-config --libs hdf5 libzstd zlib); do
    case "$f" in
        -L*) flags+=("$f" -Xlinker -rpath -Xlinker "${f#-L}") ;;
        *) flags+=("$f") ;;
    esac
done

binary="$work/fuzzer"
newest_src=$(find Sources/SwitchGymCore Sources/SwitchGymIO Sources/SwitchGymData Sources/C* \
    -newer "$binary" 2>/dev/null | head -1 || true)
if [ ! -x "$binary" ] || [ -n "$newest_src" ] || [ "$harness" -nt "$binary" ] || [ "$0" -nt "$binary" ]; then
    echo "== building $binary" >&2
    swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name SwitchGymFuzz \
        -I Sources/CHDF5 -I Sources/CZstd -I Sources/CZlib "${flags[@]}" \
        "$src"/*.swift -o "$binary" 2>&1 | { grep -v 'Cannot export local symbol' || true; } >&2
    [ "${PIPESTATUS[0]}" = 0 ] || exit 1
fi

# Seeds.
fixtures=Tests/SwitchGymDataTests/Fixtures
if [ "$target" = import ]; then
    cp "$fixtures"/import/* "$work/seeds/"
    [ -d "$fixtures/fuzz/import" ] && cp "$fixtures"/fuzz/import/* "$work/seeds/" 2>/dev/null || true
else
    [ -d "$fixtures/fuzz/hdf5" ] && cp "$fixtures"/fuzz/hdf5/* "$work/seeds/" 2>/dev/null || true
    if [ -z "$(ls "$work/seeds"/*-synth-* 2>/dev/null)" ]; then
        echo "== making seed datasets with switchgym" >&2
        swift build --product switchgym >&2
        cli="$(swift build --show-bin-path)/switchgym"
        for c in zstd deflate none; do
            "$cli" traces synth --duration 20 --rate 2 --compression "$c" -o "$root/$work/seeds/s-synth-$c.h5" >&2
        done
        for f in llm_small.csv functions_small.csv timestamps_small.csv; do
            "$cli" traces import "$fixtures/import/$f" --compression none -o "$root/$work/seeds/s-import-${f%.csv}.h5" >&2 \
                || "$cli" traces import "$fixtures/import/$f" -o "$root/$work/seeds/s-import-${f%.csv}.h5" >&2
        done
    fi
fi

[ "$seconds" = 0 ] && exit 0
echo "== fuzzing $target for ${seconds}s" >&2
exec "$binary" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 \
    -artifact_prefix="fuzz-artifacts/$target/" "$@" "$work/corpus" "$work/seeds"
