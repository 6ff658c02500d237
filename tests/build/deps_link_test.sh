#!/usr/bin/env bash
# Runs the static musl deps_link_probe (BoringSSL TLS handshake, seccomp
# filter, cJSON parse) after checking that it really is a static binary.
set -euo pipefail
elfcheck=$1
probe=$2
"$elfcheck" "$probe"
"$probe"
