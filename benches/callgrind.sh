#!/usr/bin/env bash
# Interpreter cost in machine instructions, measured with callgrind (deterministic, so it is the
# yardstick for interpreter work; wall-clock time on this shared machine is not).
#
#   benches/callgrind.sh [SMALT_BINARY]
#
# builds the release binary (unless a binary is given) and prints:
#   * instructions per iteration of   | s | s := 0. 1 to: N do: [:i | s := s + i]. s
#     = (count at N = 1,000,002 - count at N = 2) / 10^6
#   * instructions per call of the recursive   fib: n   of benches/smalltalk/BenchFib.som
#     = (count for fib: 22 - count for fib: 5) / (calls of fib 22 - calls of fib 5)
# Start-up (loading the class library) cancels out in each difference. Needs valgrind
# (apt-get install -y valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-}
if [ -z "$bin" ]; then
    cargo build --release --quiet --bin smalt
    bin=target/release/smalt
fi
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }

# Instructions executed by one run of the binary with the given arguments; checks the output.
count() {
    local expect=$1; shift
    local log out
    log=$(mktemp)
    out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$@" 2>"$log")
    if [ "$out" != "$expect" ]; then
        echo "wrong answer from $bin $*: '$out' (expected $expect)" >&2
        cat "$log" >&2
        exit 1
    fi
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$log"
    rm -f "$log"
}

loop() { echo "| s | s := 0. 1 to: $1 do: [:i | s := s + i]. s"; }
big=$(count 500002500003 -e "$(loop 1000002)")
small=$(count 3 -e "$(loop 2)")
awk -v b="$big" -v s="$small" 'BEGIN { printf "loop: %.1f instructions per iteration (%d - %d over 10^6 iterations)\n", (b - s) / 1e6, b, s }'

# fib: n makes 2 fib(n+1) - 1 calls: fib 22 makes 57313, fib 5 makes 15.
big=$(count 17711 -cp benches/smalltalk -e 'BenchFib new fib: 22')
small=$(count 5 -cp benches/smalltalk -e 'BenchFib new fib: 5')
calls=$(( 57313 - 15 ))
awk -v b="$big" -v s="$small" -v c="$calls" 'BEGIN { printf "fib:  %.1f instructions per call (%d - %d over %d calls)\n", (b - s) / c, b, s, c }'
