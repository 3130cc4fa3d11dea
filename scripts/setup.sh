#!/usr/bin/env bash
# Brings a fresh Debian machine that has only the Rust toolchain to the point where
# `mix` works: installs Erlang/OTP and Elixir from Debian when mix is missing, then
# fetches the crates. Safe to run again; it does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
fi
command -v cargo >/dev/null 2>&1 || {
  echo "setup: cargo not found. Install Rust with rustup (https://rustup.rs) first." >&2
  exit 1
}

debian_packages="erlang-base erlang-dev elixir erlang-tools erlang-runtime-tools erlang-eunit \
erlang-xmerl erlang-crypto erlang-syntax-tools erlang-parsetools erlang-inets erlang-os-mon"

if ! command -v mix >/dev/null 2>&1; then
  echo "setup: installing Erlang/OTP and Elixir from Debian's packages"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $debian_packages >/dev/null
fi

# Crates are fetched once; later builds run offline from cargo's cache.
(cd native && cargo fetch --quiet)
echo "setup: ok ($(elixir --version | tail -n 1), $(cargo --version))"
