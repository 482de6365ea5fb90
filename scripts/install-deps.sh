#!/bin/sh
# Installs the Debian packages dmq builds with, if any are missing.
# Run as root it calls apt-get itself; otherwise it prints the command to run.
# Called by the Makefile before every build, so it must stay quick when
# everything is already installed.
set -eu

packages="g++ cmake make pkg-config libcli11-dev cppzmq-dev libzmq3-dev
libmsgpack-cxx-dev libsqlite3-dev libsodium-dev libspdlog-dev catch2 zsh
fish"

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    echo "install-deps: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends $missing; then
        apt-get update && apt-get install -y --no-install-recommends $missing
    fi
else
    echo "install-deps: missing Debian packages:$missing" >&2
    echo "install-deps: run: sudo apt-get install -y$missing" >&2
    exit 1
fi
