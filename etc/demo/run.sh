#!/usr/bin/env bash
# The main job: a real 3-node vigil cluster on this machine (127.0.0.1-3).
# Starts the agents, shows them find each other, replicates a label, waits on
# it from another node, rotates the heartbeat secret, lets a 4th node join
# with a token and leave, kills n2 with SIGKILL, shows the NodeStale hook runs
# on n1 and n3, then stops everything. Ends by itself; leaves nothing running.
set -uo pipefail
VIGIL=$(realpath "${1:-build/bin/vigil}")
cd "$(dirname "$0")"
DIR=/tmp/vigil-demo
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  wait 2>/dev/null
}
trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

rm -rf "$DIR"
mkdir -p -m 700 "$DIR"/{n1,n2,n3,n4}   # each node's var_dir: private
chmod 600 secret n1.toml               # a secret open to others is refused
# n1's TLS API, which a joining node reaches: a self-signed certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=vigil-demo -keyout "$DIR/api.key" -out "$DIR/api.crt" 2>/dev/null || exit 1
step "starting 3 agents (logs in $DIR/nX/daemon.log)"
for n in n1 n2 n3; do
  "$VIGIL" daemon run --config "$n.toml" 2>"$DIR/$n/daemon.log" &
  pids+=($!)
  echo "$n: pid $!"
done

step "waiting until n1 sees every node alive"
for _ in $(seq 50); do [ -S "$DIR/n1/api.sock" ] && break; sleep 0.1; done
run "$VIGIL" --config n1.toml node wait --filter '.peers.*.state=alive' --duration 15s || exit 1
run "$VIGIL" --config n1.toml daemon status

step "setting a label on n1; n3 waits until it sees it"
"$VIGIL" --config n3.toml node wait --filter '.node.n1.labels.rack=r7' --duration 10s &
waiter=$!
sleep 0.2
run "$VIGIL" --config n1.toml node set .labels.rack=r7
wait "$waiter"
echo "vigil node wait on n3 exited $?"
run "$VIGIL" --config n3.toml daemon status

step "rotating the heartbeat secret from n2; every node switches, no heartbeat lost"
run "$VIGIL" --config n2.toml hb rotate || exit 1
for n in n1 n3; do
  for _ in $(seq 50); do
    "$VIGIL" --config "$n.toml" hb status | grep -q "sealing with version 2" && break
    sleep 0.1
  done
  printf '%s: ' "$n"
  "$VIGIL" --config "$n.toml" hb status | grep "^secret:"
done

step "n4 starts standalone, then joins through n1 with a token: no file edited anywhere"
"$VIGIL" daemon run --config n4.toml 2>"$DIR/n4/daemon.log" &
pids+=($!)
for _ in $(seq 50); do [ -S "$DIR/n4/api.sock" ] && break; sleep 0.1; done
run "$VIGIL" --config n4.toml daemon status
printf '$ token=$(%s)\n' "vigil --config n1.toml cluster token"
token=$("$VIGIL" --config n1.toml cluster token) || exit 1
run "$VIGIL" --config n4.toml cluster join --token "$token" --seed 127.0.0.1:1215 || exit 1
run "$VIGIL" --config n3.toml node wait --filter '.peers.n4.state=alive' --duration 5s
run "$VIGIL" --config n3.toml cluster members

step "n4 leaves: its peers see it leave, not go stale"
run "$VIGIL" --config n4.toml cluster leave
run "$VIGIL" --config n2.toml cluster members
kill -TERM "${pids[3]}"
wait "${pids[3]}"
unset 'pids[3]'

step "killing n2 with SIGKILL"
kill -KILL "${pids[1]}"
wait "${pids[1]}" 2>/dev/null
run "$VIGIL" --config n1.toml node wait --filter '.peers.n2.state=stale' --duration 15s
run "$VIGIL" --config n3.toml node wait --filter '.peers.n2.state=stale' --duration 15s
sleep 1  # let the hooks finish writing
run "$VIGIL" --config n1.toml daemon status
for n in n1 n3; do
  step "hook output on $n ($DIR/$n/hooks.log)"
  grep NodeStale "$DIR/$n/hooks.log" || echo "(no NodeStale hook run on $n)"
done

step "stopping n1 with SIGTERM: a clean stop, which n3 shows as stopped, not stale"
kill -TERM "${pids[0]}"
wait "${pids[0]}"
run "$VIGIL" --config n3.toml node wait --filter '.peers.n1.state=stopped' --duration 15s
run "$VIGIL" --config n3.toml daemon status

step "stopping n3"
kill -TERM "${pids[2]}"
wait "${pids[2]}"
pids=()
echo "done: every agent stopped"
