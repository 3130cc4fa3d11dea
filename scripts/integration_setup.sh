#!/usr/bin/env bash
# What `make test-integration` needs besides `make setup`: a Prometheus server, a
# headless browser and iproute2, from Debian's packages (prometheus, chromium,
# iproute2). Installs only what is missing; safe to run again.
set -euo pipefail

missing=""
command -v prometheus >/dev/null 2>&1 || missing="$missing prometheus"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
# The net split test's namespaces and veth pairs (it skips, saying so, when not root).
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"

if [ -n "$missing" ]; then
  echo "integration setup: installing$missing from Debian's packages"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi

echo "integration setup: ok ($(prometheus --version 2>&1 | head -n 1); $(/usr/bin/chromium --version 2>/dev/null))"
