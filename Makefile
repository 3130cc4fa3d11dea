# The two commands a fresh machine needs: `make demo` and `make test`.
# Both run the set-up first (Erlang/OTP + Elixir from Debian when missing, crates).
SHELL := /bin/bash
export MIX_ENV ?= dev
CARGO := cargo

.PHONY: setup demo test test-rust test-elixir test-host test-integration bench fuzz format clean

setup:
	@./scripts/setup.sh

demo: setup
	mix run bench/demo.exs

test: setup test-rust test-elixir

test-rust:
	cd native && $(CARGO) test --workspace --release

test-elixir:
	MIX_ENV=test mix test

# A throwaway host project with {:snakepit, path: ...}: compile, run, `mix release`, eval
# (docs/building.md). Separate from `test` because it compiles Snakepit twice more (~1-2 min).
test-host: setup
	./scripts/host_app_test.sh

# Real components, apart from `test` (which stays hermetic): a Prometheus server scrapes the
# metrics endpoint and headless Chromium renders the status page (docs/metrics.md); a real
# net split in a network namespace (docs/cluster.md; needs root, else skipped). Installs
# Debian's prometheus, chromium and iproute2 packages when missing.
test-integration: setup
	./scripts/integration_setup.sh
	MIX_ENV=test mix test --only integration test/integration

bench: setup
	./bench/run.sh

fuzz:
	./scripts/fuzz.sh $(or $(SECONDS),60)

format:
	mix format
	cd native && $(CARGO) fmt --all

# Everything, the cargo cache included; `mix clean` keeps native/target (docs/building.md).
clean:
	rm -rf _build priv/native native/target
