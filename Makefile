# The two commands a fresh machine needs: `make demo` and `make test`.
# Both run the set-up first (Erlang/OTP + Elixir from Debian when missing, crates).
SHELL := /bin/bash
export MIX_ENV ?= dev
CARGO := cargo

.PHONY: setup demo test test-rust test-elixir bench fuzz format clean

setup:
	@./scripts/setup.sh

demo: setup
	mix run bench/demo.exs

test: setup test-rust test-elixir

test-rust:
	cd native && $(CARGO) test --workspace --release

test-elixir:
	MIX_ENV=test mix test

bench: setup
	./bench/run.sh

fuzz:
	./scripts/fuzz.sh $(or $(SECONDS),60)

format:
	mix format
	cd native && $(CARGO) fmt --all

clean:
	rm -rf _build priv/native native/target
