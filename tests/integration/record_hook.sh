#!/bin/sh
# Test hook: records its stdin, then VIGIL_EVENT and EVENT, to the file $1.
{ cat; echo; echo "VIGIL_EVENT=$VIGIL_EVENT"; echo "EVENT=$EVENT"; } > "$1.tmp" && mv "$1.tmp" "$1"
