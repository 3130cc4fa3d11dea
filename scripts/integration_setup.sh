#!/usr/bin/env bash
# What `make test-integration` needs besides `make setup`: a Prometheus server and a
# headless browser, from Debian's packages (prometheus, chromium). Installs only what is
# missing; safe to run again.
set -euo pipefail

missing=""
command -v prometheus >/dev/null 2>&1 || missing="$missing prometheus"
[ -x /usr/bin/chromium ] || missing="$missing chromium"

if [ -n "$missing" ]; then
  echo "integration setup: installing$missing from Debian's packages"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi

echo "integration setup: ok ($(prometheus --version 2>&1 | head -n 1); $(/usr/bin/chromium --version 2>/dev/null))"
