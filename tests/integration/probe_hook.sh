#!/bin/sh
# Test hook: reports what it was started with, to the directory $1:
#   one line per run in $1/runs: start and end times (s.ns), the kind, the
#   byte count of stdin and of $EVENT, and how many sockets it inherited;
# then prints a line on stdout and on stderr. With $2 = "linger", it starts
# a background sleep (its pid in $1/child.pid) and waits past its timeout.
dir=$1
start=$(date +%s.%N)
bytes=$(wc -c | tr -d ' ')
sockets=$(ls -l /proc/$$/fd 2>/dev/null | grep -c 'socket:')
echo "probe stdout $VIGIL_EVENT"
echo "probe stderr $VIGIL_EVENT" >&2
if [ "$2" = linger ]; then
  sleep 60 &
  echo $! > "$dir/child.pid"
  sleep 60
fi
[ "$2" = slow ] && sleep 3
echo "$start $(date +%s.%N) $VIGIL_EVENT $bytes ${#EVENT} $sockets" >> "$dir/runs"
