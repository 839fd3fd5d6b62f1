#!/usr/bin/env bash
# Runs every vigil benchmark. Usage:
#   tests/bench/run_all.sh [BUILD_DIR] [--quick] [cluster_bench.py options...]
# BUILD_DIR defaults to "build". Steps:
#   1. the microbenchmarks (vigil_bench), garbage rejection included;
#   2. the memory held for event streams that never read (subscriber_memory.py),
#      webhook delivery throughput to one receiver (webhook_throughput.py),
#      the CPU of a /metrics scrape at N = 10 and of an idle status page
#      (metrics_scrape.py; the page part needs chromium and chromium-driver),
#      valid heartbeats one daemon applies per CPU second (receive_rate.py),
#      NATS export throughput and latency to one subscriber (nats_export.py;
#      skipped without nats-server),
#      the cluster benchmarks on loopback (cluster_bench.py, N = 3, 5, 10),
#      and join and leave latency on loopback (join_latency.py, N = 3, 10; skipped
#      without the openssl command);
#   3. as root, with iproute2 and nftables, in a private network namespace:
#      a. detection and convergence at N = 10, unicast + multicast paths,
#         0 % and 10 % loss;
#      b. idle bytes per node at N = 3, 10, 20: unicast, then multicast;
#      c. a garbage flood at one agent of three (needs BUILD_DIR/bin/vigil-forge),
#         that agent pinned to CPU 0 with SCHED_FIFO, the senders on the others,
#         resending pre-built datagrams with sendmmsg;
#      d. vigil and serf side by side at N = 10, 50, 100, 200 (gossip_vs_serf.py;
#         needs the serf command).
#      Not root: step 3 is skipped with a message.
#   4. the gossip-mode simulator at N = 10 to 5,000 and its plot (plot_sim.py,
#      needs python3-matplotlib).
# --quick runs every step as a smoke check (about 2 minutes). Other options go
# to step 2 only. Results are printed and written to BUILD_DIR/bench/*.json.
# Extra flags for vigil_bench go in $VIGIL_BENCH_FLAGS, e.g.
#   VIGIL_BENCH_FLAGS="--benchmark_repetitions=5" tests/bench/run_all.sh build
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="build"
if [[ $# -gt 0 && "$1" != -* ]]; then
  build="$1"
  shift
fi
case "$build" in /*) ;; *) build="$root/$build" ;; esac
quick=()
rest=()
for a in "$@"; do
  if [[ "$a" == --quick ]]; then quick=(--quick); else rest+=("$a"); fi
done

bench="$build/bin/vigil_bench"
vigil="$build/bin/vigil"
forge="$build/bin/vigil-forge"
for exe in "$bench" "$vigil"; do
  if [[ ! -x "$exe" ]]; then
    echo "run_all.sh: $exe not found; build first (make build, or ninja -C $build vigil vigil_bench vigil-forge)" >&2
    exit 2
  fi
done
out="$build/bench"
mkdir -p "$out"
cluster=(python3 "$here/cluster_bench.py" --vigil "$vigil" "${quick[@]}")
status=0
started=$SECONDS

echo "== microbenchmarks: $bench"
micro_flags=()
[[ ${#quick[@]} -gt 0 ]] && micro_flags=(--benchmark_min_time=0.05)
# shellcheck disable=SC2086
"$bench" --benchmark_out="$out/vigil_bench.json" --benchmark_out_format=json \
  "${micro_flags[@]}" ${VIGIL_BENCH_FLAGS:-} || status=1

echo
echo "== memory held for event streams that never read: $vigil"
python3 "$here/subscriber_memory.py" --vigil "$vigil" --json "$out/subscriber_memory.json" || status=1

echo
echo "== webhook delivery throughput, one receiver on loopback: $vigil"
wh_events=5000
[[ ${#quick[@]} -gt 0 ]] && wh_events=500
python3 "$here/webhook_throughput.py" --vigil "$vigil" --events "$wh_events" \
  --out "$out/webhook_throughput.json" || status=1

echo
echo "== the cost of a /metrics scrape at N = 10, and of an idle status page: $vigil"
scrapes=2000; page_s=60
[[ ${#quick[@]} -gt 0 ]] && scrapes=200 && page_s=10
python3 "$here/metrics_scrape.py" --vigil "$vigil" --scrapes "$scrapes" --page-seconds "$page_s" \
  --out "$out/metrics_scrape.json" || status=1

echo
echo "== NATS export to one subscriber on loopback: $vigil"
nats_events=20000
[[ ${#quick[@]} -gt 0 ]] && nats_events=2000
nats_rc=0
python3 "$here/nats_export.py" --vigil "$vigil" --events "$nats_events" \
  --out "$out/nats_export.json" || nats_rc=$?
if [[ $nats_rc -eq 77 ]]; then
  echo "== skipped: the NATS export benchmark needs nats-server"
elif [[ $nats_rc -ne 0 ]]; then
  status=1
fi

echo
echo "== valid heartbeats one daemon applies per CPU second, 100 simulated members: $vigil"
rate_flags=()
[[ ${#quick[@]} -gt 0 ]] && rate_flags=(--rates 20000 --seconds 2)
python3 "$here/receive_rate.py" --vigil "$vigil" --forge "$build/bin/vigil-forge" "${rate_flags[@]}" \
  --json "$out/receive_rate.json" || status=1

echo
echo "== cluster benchmarks on loopback: $vigil"
"${cluster[@]}" --json "$out/cluster_bench.json" "${rest[@]}" || status=1

echo
echo "== join and leave latency on loopback: $vigil"
join_rc=0
python3 "$here/join_latency.py" --vigil "$vigil" "${quick[@]}" --json "$out/join_latency.json" \
  || join_rc=$?
if [[ $join_rc -eq 77 ]]; then
  echo "== skipped: join latency needs the openssl command (the seed's TLS certificate)"
elif [[ $join_rc -ne 0 ]]; then
  status=1
fi

echo
if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null || ! command -v nft >/dev/null; then
  echo "== skipped: the multicast, loss, idle-bytes and flood benchmarks need root, ip and nft"
  echo "   (they run in a private network namespace)"
else
  echo "== N = 10, unicast + multicast paths, 0 % and 10 % loss (network namespace)"
  "${cluster[@]}" --json "$out/cluster_paths.json" --paths unicast,multicast --sizes 10 \
    --loss 0,10 --phases convergence,detection || status=1
  for paths in unicast multicast; do
    echo
    echo "== idle bytes per node, $paths, N = 3, 10, 20 (network namespace)"
    "${cluster[@]}" --json "$out/cluster_idle_$paths.json" --netns --paths "$paths" \
      --sizes 3,10,20 --idle-sizes all --phases idle || status=1
  done
  echo
  if [[ -x "$forge" ]]; then
    echo "== garbage flood at one agent (network namespace)"
    # n1 runs SCHED_FIFO on CPU 0 for the 10 s flood, so that on a shared
    # machine it still gets one whole core; the senders run on the other CPUs,
    # each resending 1024 pre-built datagrams with sendmmsg (sealing each one
    # afresh, one CPU of senders offers only about 150k/s).
    "${cluster[@]}" --json "$out/cluster_flood.json" --forge "$forge" --phases flood \
      --flood-rt --flood-pool 1024 || status=1
  else
    echo "== skipped: the garbage flood needs $forge (ninja -C $build vigil-forge)"
  fi
  echo
  echo "== gossip mode: vigil and serf side by side (network namespace)"
  sizes=10,50,100,200
  [[ ${#quick[@]} -gt 0 ]] && sizes=10
  serf_rc=0
  python3 "$here/gossip_vs_serf.py" --vigil "$vigil" --nodes "$sizes" \
    --out "$out/gossip_vs_serf.json" || serf_rc=$?
  if [[ $serf_rc -eq 77 ]]; then
    echo "== skipped: needs the serf command (Debian package serf)"
  elif [[ $serf_rc -ne 0 ]]; then
    status=1
  fi
fi
echo
if [[ -x "$build/bin/vigil_sim" ]] && python3 -c "import matplotlib" 2>/dev/null; then
  echo "== gossip mode simulated, N = 10 to 5,000, and its plot"
  python3 "$here/plot_sim.py" || status=1
else
  echo "== skipped: the simulated gossip figures need $build/bin/vigil_sim and python3-matplotlib"
fi
echo
echo "results in $out: $(cd "$out" && ls -- *.json | tr '\n' ' ')"
echo "total $((SECONDS - started)) s"
exit $status
