#!/usr/bin/env bash
# Fuzz the trace importers and the HDF5 trace reader with libFuzzer.
#
# Usage: Scripts/fuzz.sh TARGET [SECONDS] [-- extra libFuzzer flags]
#   import  TraceImporter.importBytes (Azure LLM / Azure Functions / timestamps CSV,
#           gzip or zstd compressed); harness Fuzz/ImportFuzzer.swift
#   hdf5    TraceDataset.read on the input written to a temp file; harness Fuzz/HDF5Fuzzer.swift
#   policy  the C runtime's policy-file loader, sg_policy_load_memory (runtime/c), compiled with
#           clang -fsanitize=fuzzer,address,undefined (plus $FUZZ_CFLAGS, e.g. "-mavx2 -mfma");
#           harness Fuzz/PolicyFuzzer.c; seeds are policies exported by switchgym (CartPole mlp,
#           vision-zoo family, vision-cluster moves on 64 devices)
#   policy-deep  the same loader past its checksum: a mutated input is re-sealed and loaded
#           again, so mutations reach the document, tensor table and self-test; Fuzz/PolicyDeepFuzzer.c
#   spec, config, checkpoint, dataset, policy-swift   (harnesses in Fuzz/DeepFuzzer.swift):
#           scenario specs (TOML text; seeds envs/*.toml), train configs (JSON), checkpoints
#           (HDF5 written by switchgym train, then mutated), trace datasets (structured: our own
#           writer makes a dataset with valid checksums from values the input picks) and the
#           Swift policy-file reader past its checksum (re-sealed; seeds as for policy)
#   SECONDS how long to fuzz (default 600); 0 only builds the fuzzer.
#
# SwiftPM cannot build libFuzzer targets, so this compiles the sources of SwitchGymCore,
# SwitchGymIO and SwitchGymData (import, hdf5) plus the harness into ONE module with
#   swiftc -sanitize=fuzzer,address -parse-as-library -O
# (the `import SwitchGymCore` / `import SwitchGymIO` lines are stripped from a copy of the
# sources under .build/fuzz/<target>/src). The C libraries come from Sources/C*/module.modulemap
# and pkg-config (hdf5, libzstd, zlib). The deep targets share one binary, .build/fuzz/deep/fuzzer
# (harness picked by SWITCHGYM_FUZZ): SwitchGymCore, IO, Data, NN, Envs and Agents compiled one
# module each with -sanitize=fuzzer,address -Onone (about a minute), linked with TOMLKit and its
# C++ toml++ (CTOML) from the debug build (`swift build` first); those are not instrumented, so
# coverage guides mutations through our code only.
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
# (import/*.bin, hdf5/*.h5); FuzzRegressionTests feeds every one of them to the reader. Inputs
# that crashed a deep target go to Tests/SwitchGymFuzzRegressionTests/Fixtures/<target>/
# (FuzzReplayTests replays them; they also seed the next run).
#
# Findings so far and what remains:
# - spec: toml++ 3 (TOMLKit's parser) asserts in parse_key on a table header whose `[` or `[[`
#   is followed by a character that cannot start a key (a newline, `.`, `=`, `#`, a non-ASCII
#   byte): an abort in a debug build, undefined behaviour where NDEBUG turns the assertion into
#   an assumption. ScenarioSpec.checkTableHeaders refuses such headers before TOMLKit sees them.
#   2026-12-06, after the token-level and tensor-parallel keys: two more, `[[ [` (a bracket after
#   spaces; parse_key) and an array closed by a brace, `[229.8, }` (parse_value); the pre-check
#   now refuses both (a value's brackets must match). Either aborted the release binary too.
#   (Minimising a deep-target crash: the harness repairs invalid UTF-8 first, so minimise by
#   lines against `switchgym envs simulate` on the repaired text.)
# - checkpoint: a damaged checkpoint whose group links form a cycle made HDF5File.datasetPaths
#   recurse until the stack overflowed; the walk now stops at 32 levels / 2^20 objects.
# - policy-deep, 2026-12-08 (seeded with a 32-device moves policy; with FUZZ_CFLAGS="-mavx2 -mfma"):
#   a failed self-test's message listed the file's expected actions into a 200-byte buffer, and
#   snprintf's returned length ran past it with 24 actions of -2147483648 (a stack overflow in
#   the C runtime); fixed, and Scripts/check_policy_runtimes.py replays such a file through an
#   ASan build. Then 140,000 runs (AVX2 kernels) and 36,500 of policy-swift found nothing more.
# - policy (an earlier run; reproduced in PolicyFileTests): a golden case whose mask allows no
#   value of a component reached PolicyFile's self-test, which ran the unchecked `act` (a trap in
#   the masked log-softmax); the self-test now runs `decide`, which refuses the case by name.
# - checkpoint, inside libhdf5: a hang in H5HG_read and a 2^51-byte request in H5C_protect from a
#   corrupt metadata size (ASan reports it; a plain malloc refuses it and libhdf5 fails the read).
# - Left to libhdf5 (1.10, the distribution's): some corrupt files crash, hang or leak inside
#   the library itself (H5HG_read via H5Aread of a vlen string attribute, seen by the hdf5
#   target). Our readers check what they can before reading values (the format attributes,
#   version, checksum manifest, every size against its bounds before allocating), but the
#   library parses a file's metadata (superblock, object headers, B-trees, heaps) before any
#   of that, so an HDF5 file crafted to hit a libhdf5 bug can still crash `switchgym` when it
#   reads it. Files we write and then damage by accident are caught by the checksums; files
#   from an untrusted source should be opened only by a process that may crash (or with a
#   newer libhdf5). The dataset target avoids that noise: it fuzzes everything after the
#   checksums through files our own writer makes.
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
    policy-deep) harness=Fuzz/PolicyDeepFuzzer.c ;;
    spec|config|checkpoint|dataset|policy-swift) harness=Fuzz/DeepFuzzer.swift ;;
    *) echo "usage: $0 import|hdf5|policy|policy-deep|spec|config|checkpoint|dataset|policy-swift [SECONDS] [-- libFuzzer flags]" >&2
       exit 2 ;;
esac

# Seed policies (and the checkpoints they come from) made with switchgym, shared by the policy targets.
policy_seeds() {
    local dir=.build/fuzz/policy-seeds
    mkdir -p "$dir"
    if [ -z "$(ls "$dir"/*.safetensors 2>/dev/null)" ]; then
        echo "== making seed policies and checkpoints with switchgym" >&2
        swift build --product switchgym >&2
        local cli tmp
        cli="$(swift build --show-bin-path)/switchgym"
        tmp=$(mktemp -d)
        "$cli" train --env CartPole-v1 --steps 2048 --out "$tmp/cp" --quiet >&2
        "$cli" export "$tmp/cp" --golden 4 -o "$dir/cartpole.safetensors" >&2
        "$cli" train --env envs/vision-zoo.toml --steps 4096 --out "$tmp/vz" --quiet >&2
        "$cli" export "$tmp/vz" --golden 4 -o "$dir/vision-zoo.safetensors" >&2
        # A 64-device moves policy (64 action components, 642 options a class): the long
        # actions and masks of the large fleets (a self-test message once overflowed there).
        "$cli" train --env envs/vision-cluster.toml --config '{"net_arch": [16]}' --steps 2048 --out "$tmp/vc" --quiet >&2
        "$cli" export "$tmp/vc" --golden 4 -o "$dir/vision-cluster-moves.safetensors" >&2
        cp "$(ls "$tmp"/cp/ckpt-*.h5 | tail -1)" "$dir/cartpole-ckpt.h5"
        cp "$(ls "$tmp"/vz/ckpt-*.h5 | tail -1)" "$dir/vision-zoo-ckpt.h5"
        rm -rf "$tmp"
    fi
    echo "$dir"
}

if [ "$target" = policy ] || [ "$target" = policy-deep ]; then
    work=.build/fuzz/$target
    mkdir -p "$work/corpus" "$work/seeds" "fuzz-artifacts/$target"
    echo "== building $work/fuzzer" >&2
    # FUZZ_CFLAGS="-mavx2 -mfma" fuzzes the AVX2 kernels (runtime/c/README.md) instead of the portable ones.
    clang -std=c99 -O1 -g -fsanitize=fuzzer,address,undefined ${FUZZ_CFLAGS:-} -Iruntime/c/include \
        "$harness" runtime/c/switchgym_policy.c -lm -o "$work/fuzzer"
    seeds=$(policy_seeds)
    cp "$seeds"/*.safetensors "$work/seeds/"
    [ "$seconds" = 0 ] && exit 0
    echo "== fuzzing $target for ${seconds}s" >&2
    exec "$work/fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="fuzz-artifacts/$target/" "$@" "$work/corpus" "$work/seeds"
fi

if [ "$harness" = Fuzz/DeepFuzzer.swift ]; then
    bin="$(swift build --show-bin-path)"
    [ -f "$bin/Modules/TOMLKit.swiftmodule" ] || { echo "== swift build first (TOMLKit comes from $bin)" >&2; swift build >&2; }
    deep=.build/fuzz/deep
    out="$deep/modules"
    binary="$deep/fuzzer"
    modules="SwitchGymCore SwitchGymIO SwitchGymData SwitchGymNN SwitchGymEnvs SwitchGymAgents"
    newest_src=$(find $(for m in $modules; do echo "Sources/$m"; done) Sources/C* -newer "$binary" 2>/dev/null | head -1 || true)
    if [ ! -x "$binary" ] || [ -n "$newest_src" ] || [ "$harness" -nt "$binary" ] || [ "$0" -nt "$binary" ]; then
        # One module per library, as SwiftPM builds them (merged into one module, the
        # libraries' overloads make some expressions too costly to type-check).
        rm -rf "$out"; mkdir -p "$out"
        cflags=()
        for f in $(pkg-config --cflags hdf5 libzstd zlib openblas); do cflags+=(-Xcc "$f"); done
        common=(-sanitize=fuzzer,address -parse-as-library -Onone -gline-tables-only -I "$out"
            -I Sources/CHDF5 -I Sources/CZstd -I Sources/CZlib -I Sources/CSHA256 -I Sources/CBLAS
            -I "$bin/Modules" -Xcc -fmodule-map-file="$bin/CTOML.build/module.modulemap"
            -I .build/checkouts/TOMLKit/Sources/CTOML/include "${cflags[@]}")
        for m in $modules; do
            echo "== building $m for $binary" >&2
            # shellcheck disable=SC2046
            swiftc "${common[@]}" -module-name "$m" -wmo -emit-module -emit-module-path "$out/$m.swiftmodule" \
                -c -o "$out/$m.o" $(find "Sources/$m" -name '*.swift') >&2
        done
        lflags=()
        for f in $(pkg-config --libs hdf5 libzstd zlib openblas); do
            case "$f" in
                -L*) lflags+=("$f" -Xlinker -rpath -Xlinker "${f#-L}") ;;
                *) lflags+=("$f") ;;
            esac
        done
        echo "== linking $binary" >&2
        swiftc "${common[@]}" -module-name SwitchGymFuzz "$harness" "$out"/*.o \
            "$bin"/TOMLKit.build/*.swift.o "$bin"/CTOML.build/Sources/*.o -lstdc++ "${lflags[@]}" \
            -o "$binary" 2>&1 | { grep -v 'Cannot export local symbol' || true; } >&2
        [ "${PIPESTATUS[0]}" = 0 ] || exit 1
    fi
    work=".build/fuzz/$target"
    mkdir -p "$work/corpus" "$work/seeds" "fuzz-artifacts/$target"
    fixtures=Tests/SwitchGymFuzzRegressionTests/Fixtures/$target
    [ -d "$fixtures" ] && cp "$fixtures"/* "$work/seeds/" 2>/dev/null || true
    case "$target" in
        spec) cp envs/*.toml "$work/seeds/" ;;
        config)
            printf '\000{"learning_rate": 0.0003, "net_arch": [64, 64], "batch_size": 64}' > "$work/seeds/ppo.json"
            printf '\001{"learning_starts": 100, "exploration_fraction": 0.3, "net_arch": [32]}' > "$work/seeds/dqn.json"
            printf '\002{"ent_coef": 0.01, "num_envs": 8, "num_steps": 128, "gamma": 0.99}' > "$work/seeds/ppo-plain.json" ;;
        checkpoint) cp "$(policy_seeds)"/*-ckpt.h5 "$work/seeds/" ;;
        policy-swift) cp "$(policy_seeds)"/*.safetensors "$work/seeds/" ;;
        dataset) head -c 64 /dev/urandom > "$work/seeds/random" ;;
    esac
    [ "$seconds" = 0 ] && exit 0
    echo "== fuzzing $target for ${seconds}s" >&2
    # -detect_leaks=0: TOMLKit leaks on every TOML parse error (TOMLTable(string:)), and
    # libhdf5 on corrupt files; neither is ours.
    # checkpoint: libhdf5 itself hangs on some corrupt files (H5HG_read via H5Aread of a vlen string
    # attribute, as for hdf5); run it with -- -fork=1 -ignore_timeouts=1 to fuzz past them.
    SWITCHGYM_FUZZ="$target" ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" exec "$binary" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 -detect_leaks=0 \
        -artifact_prefix="fuzz-artifacts/$target/" "$@" "$work/corpus" "$work/seeds"
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
        -I Sources/CHDF5 -I Sources/CZstd -I Sources/CZlib -I Sources/CSHA256 "${flags[@]}" \
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
