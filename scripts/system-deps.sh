#!/usr/bin/env bash
# Installs the Debian packages the project needs, when missing.
#   system-deps.sh run   -> what installing and running needs: libicu-dev + pkg-config (PyICU build)
#   system-deps.sh test  -> also memcached (reference server), libmemcached-tools (memcaslap
#                           load generator for the benchmarks), valgrind (instruction counts
#                           of benchmarks.kv_instructions) and chromium (browser tests)
set -euo pipefail
profile="${1:-test}"
needed=()
command -v pkg-config >/dev/null || needed+=(pkg-config)
pkg-config --exists icu-uc 2>/dev/null || needed+=(libicu-dev)
if [ "$profile" = "test" ]; then
    command -v memcached >/dev/null || needed+=(memcached)
    command -v memaslap >/dev/null || command -v memcaslap >/dev/null || needed+=(libmemcached-tools)
    command -v valgrind >/dev/null || needed+=(valgrind)
    command -v chromium >/dev/null || needed+=(chromium)
fi
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
