#!/usr/bin/env bash
# Installs the Debian packages the test suite and benchmarks use, when missing.
# memcached: reference server; libmemcached-tools: memaslap load generator;
# chromium: browser tests; libicu-dev + pkg-config: building PyICU.
set -euo pipefail
needed=()
command -v memcached >/dev/null || needed+=(memcached)
command -v memaslap >/dev/null || command -v memcaslap >/dev/null || needed+=(libmemcached-tools)
command -v chromium >/dev/null || needed+=(chromium)
command -v pkg-config >/dev/null || needed+=(pkg-config)
pkg-config --exists icu-uc 2>/dev/null || needed+=(libicu-dev)
if [ ${#needed[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${needed[*]} (run as root or install them)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${needed[@]}" >/dev/null
