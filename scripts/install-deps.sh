#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages ringtop needs to build, and only those missing.
# Runs apt-get directly as root, through sudo otherwise.
#
#   scripts/install-deps.sh            what building and running ringtop needs
#   scripts/install-deps.sh --ci       also what CI checks against: hwloc-nox (lstopo-no-graphics,
#                                      for the topology), linux-perf (perf stat, for the counters),
#                                      python3-venv (the Python HdrHistogram
#                                      package reads ringtop's interval logs), valgrind (for
#                                      scripts/instructions.sh), the RDMA libraries the `rdma`
#                                      feature builds against; prometheus (a real server scrapes
#                                      `--metrics-listen` in tests/prometheus.rs) and chromium
#                                      (renders `ringtop report` in tests/report.rs), both
#                                      without recommends and never started as a service: the
#                                      tests start them, on 127.0.0.1 only)
#   scripts/install-deps.sh --rdma     the RDMA libraries only (libibverbs, librdmacm, and
#                                      libclang for rdma-sys's bindgen)
set -euo pipefail

# hwlocality binds the system hwloc (>= 2.8; Debian 12 ships 2.9), which pulls in libudev.
packages=(build-essential pkg-config libhwloc-dev libudev-dev)
rdma=(libibverbs-dev librdmacm-dev libclang-dev)
# Installed without their recommends, and no service started by apt: programs the tests start
# themselves (a Prometheus server, a headless browser).
quiet=()
case "${1:-}" in
--ci)
    packages+=(hwloc-nox linux-perf python3-venv valgrind "${rdma[@]}")
    quiet+=(prometheus chromium)
    ;;
--rdma) packages+=("${rdma[@]}") ;;
esac

# Installed, not merely known (a removed package keeps its configuration and its dpkg entry).
installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done
missing_quiet=()
for p in "${quiet[@]}"; do
    installed "$p" || missing_quiet+=("$p")
done
if ((${#missing[@]} == 0 && ${#missing_quiet[@]} == 0)); then
    exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    as_root=(sudo)
fi
"${as_root[@]}" apt-get update -qq
if ((${#missing[@]} > 0)); then
    echo "installing: ${missing[*]}"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
if ((${#missing_quiet[@]} > 0)); then
    echo "installing (not started): ${missing_quiet[*]}"
    # policy-rc.d answering 101 tells Debian's maintainer scripts not to start services.
    policy=/usr/sbin/policy-rc.d
    had_policy=false
    [ -e "$policy" ] && had_policy=true
    if ! $had_policy; then
        printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
        "${as_root[@]}" chmod 755 "$policy"
    fi
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing_quiet[@]}" || status=$?
    if ! $had_policy; then
        "${as_root[@]}" rm -f "$policy"
    fi
    exit "${status:-0}"
fi
