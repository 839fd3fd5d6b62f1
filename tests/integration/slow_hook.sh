#!/bin/sh
# Test hook that hangs far longer than its timeout.
exec sleep 60
