#!/bin/sh
# Sample vigil hook. vigil runs it with the event JSON on stdin, the same
# JSON in $EVENT and the event kind in $VIGIL_EVENT. It appends one line per
# event to the file named by its first argument and echoes it on stdout
# (which lands in the daemon log).
log=${1:-/dev/null}
event=$(cat)
line="$(date -u +%Y-%m-%dT%H:%M:%SZ) $VIGIL_EVENT $event"
echo "$line" >> "$log"
echo "$line"
