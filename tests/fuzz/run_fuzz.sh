#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in their own CMake build tree
# (tests/fuzz/project) and runs one of them for a bounded time on a copy of
# the committed seed corpus.
#
#   run_fuzz.sh <target> <seconds> [build-dir]
#       <target>: fuzz_datagram, fuzz_patch, fuzz_jwt, fuzz_event_filter,
#       fuzz_json_condition, fuzz_router, fuzz_join_answer, fuzz_webhook_url or
#       fuzz_nats_protocol.
#       Fuzz for <seconds> (with <target>.dict when there is one). Exit 0:
#       nothing found. Exit 1: the fuzzer found a crash, sanitizer error,
#       leak, timeout or out-of-memory; the reproducer is kept under
#       <build-dir>/artifacts/<target>/ and its path printed.
#   run_fuzz.sh corpus [build-dir] [json-patch-tests-dir]
#       Regenerate tests/fuzz/corpus/ with make_corpus: sealed heartbeat
#       datagrams and the RFC 6902 conformance records.
#
# Exit 77 (ctest SKIP_RETURN_CODE) when no clang++ that links libFuzzer is
# found; exit 2 on a usage or build error. <build-dir> defaults to
# build/fuzz-build. VIGIL_FUZZ_CXX names the clang++ to use, VIGIL_FUZZ_JOBS
# the build parallelism (default 2).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
readonly SKIP=77

usage() {
  sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 1 ] || usage
mode=$1
case "$mode" in
  fuzz_datagram | fuzz_patch | fuzz_jwt | fuzz_event_filter | fuzz_json_condition | fuzz_router | \
    fuzz_join_answer | fuzz_webhook_url | fuzz_nats_protocol)
    [ $# -ge 2 ] || usage
    seconds=$2
    build=${3:-$repo/build/fuzz-build}
    ;;
  corpus)
    build=${2:-$repo/build/fuzz-build}
    suite=${3:-$repo/../shared/conformance/json-patch-tests}
    ;;
  *) usage ;;
esac

# --- compiler ------------------------------------------------------------------
clangxx=${VIGIL_FUZZ_CXX:-}
if [ -z "$clangxx" ]; then
  for candidate in clang++ clang++-19 clang++-18 clang++-17 clang++-16 clang++-15 clang++-14; do
    if command -v "$candidate" >/dev/null 2>&1; then
      clangxx=$(command -v "$candidate")
      break
    fi
  done
fi
if [ -z "$clangxx" ]; then
  echo "SKIP: clang++ not found, fuzzing skipped"
  exit $SKIP
fi

mkdir -p "$build"
build=$(cd "$build" && pwd)

# One build or run at a time per build tree.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$build/.lock"
  flock 9
fi

# --- configure (once) and build ------------------------------------------------
if [ ! -f "$build/CMakeCache.txt" ]; then
  probe=$build/probe
  mkdir -p "$probe"
  printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
    'extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }' \
    >"$probe/probe.cc"
  if ! "$clangxx" -fsanitize=fuzzer,address,undefined "$probe/probe.cc" -o "$probe/probe" \
    >"$probe/log" 2>&1; then
    echo "SKIP: $clangxx cannot link libFuzzer with ASan/UBSan, fuzzing skipped:"
    sed 's/^/  /' "$probe/log" | tail -5
    exit $SKIP
  fi
  generator=Ninja
  command -v ninja >/dev/null 2>&1 || generator="Unix Makefiles"
  echo "configuring the fuzz build in $build with $clangxx"
  if ! CXXFLAGS= LDFLAGS= cmake -S "$here/project" -B "$build" -G "$generator" \
    -DCMAKE_CXX_COMPILER="$clangxx" >"$build/configure.log" 2>&1; then
    cat "$build/configure.log"
    rm -f "$build/CMakeCache.txt"
    echo "FAIL: the fuzz build did not configure"
    exit 2
  fi
fi

target=$mode
[ "$mode" = corpus ] && target=make_corpus
start=$(date +%s)
if ! cmake --build "$build" -j "${VIGIL_FUZZ_JOBS:-2}" --target "$target" >"$build/build-$target.log" 2>&1; then
  tail -60 "$build/build-$target.log"
  echo "FAIL: building $target"
  exit 2
fi
echo "built $target in $(($(date +%s) - start)) s"

# --- corpus regeneration -------------------------------------------------------
if [ "$mode" = corpus ]; then
  shopt -s nullglob
  suites=("$suite"/*.json)
  if [ ${#suites[@]} -eq 0 ]; then
    echo "FAIL: no RFC 6902 conformance files in $suite"
    exit 2
  fi
  rm -rf "$here/corpus/fuzz_datagram" "$here/corpus/fuzz_patch"
  "$build/make_corpus" "$here/corpus" "${suites[@]}"
  exit 0
fi

# --- fuzz ----------------------------------------------------------------------
case "$target" in
  fuzz_datagram) max_len=8192 ;;
  *) max_len=4096 ;;
esac
work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-$target.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
cp "$here/corpus/$target/"* "$work/corpus/"
artifacts=$build/artifacts/$target
mkdir -p "$artifacts"

echo "fuzzing $target for ${seconds} s on $(ls "$work/corpus" | wc -l) seed inputs"
rc=0
dict=()
[ -f "$here/$target.dict" ] && dict=(-dict="$here/$target.dict")
"$build/$target" -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048 \
  -timeout=10 -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
  "${dict[@]}" -artifact_prefix="$artifacts/" "$work/corpus" \
  >"$work/log" 2>&1 || rc=$?

reproducers=$(sed -n "s/.*Test unit written to \(.*\)$/\1/p" "$work/log")
if [ "$rc" -ne 0 ] || [ -n "$reproducers" ]; then
  # From the first report line (sanitizer, libFuzzer, a failed check of the
  # target, an escaped exception) on; else the end of the log.
  report=$(sed -n '/^==[0-9]*== \{0,1\}ERROR\|runtime error:\|^fuzz_[a-z_]*: \|^terminate called/,$p' \
    "$work/log" | head -120)
  [ -n "$report" ] || report=$(tail -60 "$work/log")
  echo "$report"
  echo "FAIL: $target found a problem (exit $rc)"
  for r in $reproducers; do
    echo "reproducer: $r"
    echo "  rerun with: $build/$target $r"
  done
  exit 1
fi
# The progress lines are noise; keep the summary.
grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|RELOAD)|^[[:space:]]+NEW_FUNC|^"|dictionary\. #' \
  "$work/log" | tail -25
echo "PASS: $target ran ${seconds} s without a finding"
