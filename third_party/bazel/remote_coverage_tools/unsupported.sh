#!/bin/sh
echo "csb: bazel coverage is not supported (offline build, no coverage tools)" >&2
exit 1
