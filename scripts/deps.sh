#!/usr/bin/env bash
# Installs what tapflow's demo and tests need on Debian, only what is missing.
# Usage: scripts/deps.sh [demo|test|bench]
set -euo pipefail
want=(clickhouse-server clickhouse-client ca-certificates)
case "${1:-test}" in
  test)  want+=(tcpdump tcpreplay iproute2 iptables curl python3 chromium valgrind) ;;
  bench) want+=(tcpdump tcpreplay iproute2 util-linux curl softflowd pmacct argus-client argus-server libndpi-bin python3 python3-matplotlib valgrind) ;;
  demo)  want+=(curl) ;;
esac
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  echo "note: add /usr/local/go/bin to PATH"
fi
