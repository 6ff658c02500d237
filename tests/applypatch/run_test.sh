#!/bin/sh
# Runs one of the python test drivers of this directory: run_test.sh SCRIPT ARGS...
set -eu
script="$1"
shift
exec python3 "$script" "$@"
