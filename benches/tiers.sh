#!/usr/bin/env bash
# Runs the classic benchmark programs of benches/som under the interpreter and the JIT in one
# run and prints, per program, the steady-state time of each tier (median of the second half of
# the iterations), their ratio, the first iteration's time (compile time included) and the
# geometric mean of the ratios. Each program checks its own result.
#   benches/tiers.sh [ITERATIONS] [INNER]      (build first: cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
exe=target/release/smalt
iters=${1:-20}
inner=${2:-10}
progs="Sieve Queens Towers Permute List Storage Mandelbrot NBody Richards"
printf "%-11s %12s %12s %8s %14s %14s\n" program "interp (us)" "jit (us)" ratio "interp 1st" "jit 1st"
logsum=0; n=0
for p in $progs; do
    declare -A med first
    for tier in off on; do
        out=$("$exe" --jit=$tier -cp benches/som BenchRunner "$p" "$iters" "$inner")
        times=$(echo "$out" | grep 'runtime:' | sed -E 's/.*runtime: ([0-9]+)us/\1/')
        first[$tier]=$(echo "$times" | head -1)
        med[$tier]=$(echo "$times" | tail -n $((iters / 2)) | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    done
    ratio=$(awk -v a="${med[off]}" -v b="${med[on]}" 'BEGIN {printf "%.2f", a / b}')
    logsum=$(awk -v s="$logsum" -v r="$ratio" 'BEGIN {print s + log(r)}')
    n=$((n + 1))
    printf "%-11s %12s %12s %7sx %14s %14s\n" "$p" "${med[off]}" "${med[on]}" "$ratio" "${first[off]}" "${first[on]}"
done
awk -v s="$logsum" -v n="$n" 'BEGIN {printf "geometric mean of the ratios: %.2fx\n", exp(s / n)}'
