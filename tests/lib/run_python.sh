#!/bin/sh
# Runs a python test driver given as a label's location: run_python.sh SCRIPT ARGS...
set -eu
script="$1"
shift
exec python3 "$script" "$@"
