#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz/.
# Usage: tests/fuzz/build.sh; then e.g. build-fuzz/fuzz-spdy -max_total_time=60 CORPUS_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build-fuzz
mkdir -p "$out"
flags=(-g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc -I/usr/include/yajl)
clang "${flags[@]}" -o "$out/fuzz-spdy" tests/fuzz/fuzz-spdy.c src/cri/stream-spdy.c \
  src/common/buf.c src/common/error.c src/common/xalloc.c -lz
echo "built $out/fuzz-spdy"
