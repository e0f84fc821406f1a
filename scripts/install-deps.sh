#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages ringtop needs to build, and only those missing.
# Runs apt-get directly as root, through sudo otherwise.
#
#   scripts/install-deps.sh            what building and running ringtop needs
#   scripts/install-deps.sh --ci       also what CI checks against: hwloc-nox (lstopo-no-graphics,
#                                      for the topology), linux-perf (perf stat, for the counters),
#                                      python3-venv (the Python HdrHistogram
#                                      package reads ringtop's interval logs), valgrind (for
#                                      scripts/instructions.sh), and the RDMA libraries the `rdma`
#                                      feature builds against
#   scripts/install-deps.sh --rdma     the RDMA libraries only (libibverbs, librdmacm, and
#                                      libclang for rdma-sys's bindgen)
set -euo pipefail

# hwlocality binds the system hwloc (>= 2.8; Debian 12 ships 2.9), which pulls in libudev.
packages=(build-essential pkg-config libhwloc-dev libudev-dev)
rdma=(libibverbs-dev librdmacm-dev libclang-dev)
case "${1:-}" in
--ci) packages+=(hwloc-nox linux-perf python3-venv valgrind "${rdma[@]}") ;;
--rdma) packages+=("${rdma[@]}") ;;
esac

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
