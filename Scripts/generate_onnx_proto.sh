#!/usr/bin/env bash
# Regenerates Sources/SwitchGymONNX/onnx.pb.swift from ONNX's onnx.proto.
#
#   Scripts/generate_onnx_proto.sh PATH/TO/onnx.proto
#
# Needs protoc (Debian: apt-get install -y protobuf-compiler) and builds protoc-gen-swift from
# apple/swift-protobuf at the version Package.swift depends on (about a minute to ten on 2 cores).
# onnx.proto: onnx/onnx.proto of https://github.com/onnx/onnx at the commit that
# Sources/SwitchGymONNX/onnx.proto.PROVENANCE.md records (update that file when you change it).
# Neither the proto nor the plugin's build is committed: only the generated Swift file.
set -euo pipefail
cd "$(dirname "$0")/.."
proto="${1:?usage: $0 PATH/TO/onnx.proto}"
version="${SWIFT_PROTOBUF_VERSION:-1.39.0}"
work="${TMPDIR:-/tmp}/switchgym-protoc-gen-swift-$version"
if [ ! -x "$work/.build/release/protoc-gen-swift" ]; then
    rm -rf "$work"
    git clone --quiet --branch "$version" https://github.com/apple/swift-protobuf "$work"
    (cd "$work" && swift build -c release --product protoc-gen-swift)
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cp "$proto" "$out/onnx.proto"
protoc --plugin=protoc-gen-swift="$work/.build/release/protoc-gen-swift" \
    --swift_opt=Visibility=Public --swift_out="$out" -I "$out" "$out/onnx.proto"
cp "$out/onnx.pb.swift" Sources/SwitchGymONNX/onnx.pb.swift
echo "wrote Sources/SwitchGymONNX/onnx.pb.swift (onnx.proto sha256 $(sha256sum "$proto" | cut -d' ' -f1))"
