#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages ringtop needs to build, and only those missing.
# Runs apt-get directly as root, through sudo otherwise.
set -euo pipefail

packages=(build-essential pkg-config)

missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
    exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    as_root=(sudo)
fi
echo "installing: ${missing[*]}"
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
