#!/bin/sh
# Runs the frame fuzzer for a while (default 300 s): fuzz/run.sh [seconds]
# New inputs go to build/fuzz/corpus; the seeds stay in build/fuzz/seeds.
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-300}
make --no-print-directory build/fuzz/fuzz_frames build/fuzz/seeds/.done >/dev/null
mkdir -p build/fuzz/corpus build/fuzz/artifacts
exec build/fuzz/fuzz_frames -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix=build/fuzz/artifacts/ -max_len=4096 \
    build/fuzz/corpus build/fuzz/seeds
