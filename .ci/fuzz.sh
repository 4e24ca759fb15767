#!/usr/bin/env bash
# Builds the fuzz preset (clang, libFuzzer, ASan + UBSan) and runs each fuzz target for
# SECONDS (default 30) on a scratch copy of its seed corpus and regressions, so that
# nothing is written into the repository. Prints each target's executions and corpus
# size; fails when a target finds a crash, a leak, a hang or a broken invariant, keeping
# the scratch folder (the input that did it, the log) and printing where it is.
# Usage: .ci/fuzz.sh [SECONDS]        (docs/fuzzing.md)
set -euo pipefail
seconds="${1:-30}"
cd "$(dirname "$0")/.."

echo "== build: fuzz" >&2
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)" --target fuzz-targets >/dev/null

# Inputs longer than a target can use only slow it down.
declare -A max_len=([csv]=4096 [pipeline]=16384 [specs]=1024 [coverage]=1100 [text]=2048 [zones]=16384 [state]=4096)
base=/dev/shm # the targets write a file per input: keep them in memory when we can
[[ -d $base && -w $base ]] || base="${TMPDIR:-/tmp}"
work=$(mktemp -d "$base/cityrisk-fuzz-run.XXXXXX")
failed=0
# Cairo's text (fuzz_text) goes through fontconfig, whose allocations LeakSanitizer cannot
# follow: the one third-party suppression the end-to-end tests use too.
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan-thirdparty.supp:print_suppressions=0"
echo "== fuzz: ${seconds} s per target, scratch in $work" >&2
for name in csv pipeline specs coverage text zones state; do
  dir="$work/$name"
  mkdir -p "$dir/corpus" "$dir/tmp"
  cp tests/fuzz/corpus/"$name"/* "$dir/corpus/"
  if [[ -d tests/fuzz/regressions/$name ]]; then
    cp tests/fuzz/regressions/"$name"/* "$dir/corpus/"
  fi
  seeds=$(ls "$dir/corpus" | wc -l)
  dict=()
  [[ -f tests/fuzz/$name.dict ]] && dict=(-dict="tests/fuzz/$name.dict")
  if CITYRISK_FUZZ_TMP="$dir/tmp" build/fuzz/tests/fuzz/fuzz_"$name" "${dict[@]}" \
       -max_total_time="$seconds" -max_len="${max_len[$name]}" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$dir/" "$dir/corpus" >"$dir/log" 2>&1; then
    runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 executions in \2 s/p' "$dir/log")
    echo "fuzz_$name: ${runs:-?}, corpus $seeds -> $(ls "$dir/corpus" | wc -l) inputs"
  else
    echo "fuzz_$name: FAILED (log and input in $dir)" >&2
    grep -E 'ERROR|SUMMARY|invariant broken|Test unit written' "$dir/log" >&2 || tail -n 30 "$dir/log" >&2
    failed=1
  fi
done
if ((failed)); then
  exit 1
fi
rm -rf "$work"
