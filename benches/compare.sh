#!/usr/bin/env bash
# Before/after wall-clock ratios of the criterion benchmarks (`interp` and `som`), measured in one
# run: the machine is shared and noisy, so the two versions run interleaved, benchmark by
# benchmark, rather than one after the other.
#
#   benches/compare.sh [REV]        (default REV: main)
#
# Extracts REV into target/compare/ (its own target directory), gives it today's bench files
# (they use only the public API both versions have), builds both, then runs every benchmark
# ROUNDS times (default 2) alternating old and new, and prints each one's median time per
# version (the best median of its rounds), the ratio old/new (above 1: the working tree is faster)
# and the geometric mean of the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:-main}
rounds=${ROUNDS:-2}
old_src="target/compare/src-$(git rev-parse --short "$rev")"
if [ ! -d "$old_src" ]; then
    mkdir -p "$old_src"
    git archive "$rev" | tar -x -C "$old_src"
fi
cp benches/som.rs benches/interp.rs "$old_src/benches/"
grep -q 'name = "som"' "$old_src/Cargo.toml" ||
    printf '\n[[bench]]\nname = "som"\nharness = false\n' >> "$old_src/Cargo.toml"

# The bench executables of a tree, one per line: "name path".
executables() {
    (cd "$1" && cargo bench --no-run --message-format=json 2>/dev/null) | python3 -c '
import json, sys
for line in sys.stdin:
    try: m = json.loads(line)
    except ValueError: continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "bench" in m["target"]["kind"]:
        print(m["target"]["name"], m["executable"])'
}
echo "building $rev and the working tree (release)..." >&2
old_exes=$(executables "$old_src")
new_exes=$(executables .)

# Median time in nanoseconds of one benchmark (criterion's "time: [low median high]" line).
median() {
    local exe=$1 dir=$2 id=$3
    (cd "$dir" && "$exe" --bench --noplot --exact "$id" 2>/dev/null) | python3 -c '
import re, sys
units = {"ps": 1e-3, "ns": 1, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}
# Reads to the end: criterion panics (exit 101) on a closed pipe if it has more to print,
# such as the "change:" lines it adds once a baseline exists.
found = [m for m in (re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", l) for l in sys.stdin) if m]
if found:
    print(float(found[0].group(1)) * units[found[0].group(2)])'
}

ids_interp=("interpreter/fib 25 (sends)" "interpreter/block loop (block evaluations)" "interpreter/tree allocation (objects)")
ids_som=(som/Sieve som/Queens som/Towers som/Permute som/List som/Storage som/Mandelbrot som/NBody som/Richards
    som/Bounce som/DeltaBlue som/Json som/Havlak som/CD)
printf '%-44s %12s %12s %8s\n' benchmark "$rev" "working" "ratio"
ratios=()
for bench in interp som; do
    old_exe=$(awk -v b="$bench" '$1 == b { print $2 }' <<< "$old_exes")
    new_exe=$(awk -v b="$bench" '$1 == b { print $2 }' <<< "$new_exes")
    if [ "$bench" = interp ]; then ids=("${ids_interp[@]}"); else ids=("${ids_som[@]}"); fi
    for id in "${ids[@]}"; do
        best_old=""; best_new=""
        for _ in $(seq "$rounds"); do
            o=$(median "$old_exe" "$old_src" "$id"); n=$(median "$new_exe" . "$id")
            best_old=$(python3 -c "print(min(x for x in [$o, ${best_old:-$o}]))")
            best_new=$(python3 -c "print(min(x for x in [$n, ${best_new:-$n}]))")
        done
        ratio=$(python3 -c "print(f'{$best_old / $best_new:.2f}')")
        ratios+=("$ratio")
        python3 -c "
def t(ns):
    for unit, f in (('s', 1e9), ('ms', 1e6), ('µs', 1e3)):
        if ns >= f: return f'{ns / f:.2f} {unit}'
    return f'{ns:.0f} ns'
print(f'{\"$id\":<44} {t($best_old):>12} {t($best_new):>12} {\"$ratio\":>8}')"
    done
done
python3 -c "
import math
r = [${ratios[*]// /, }]
print(f'geometric mean of the ratios: {math.exp(sum(map(math.log, r)) / len(r)):.2f}')"
