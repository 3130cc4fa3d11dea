# Real-component tests (test/integration, `make test-integration`) need a Prometheus server
# and a browser: left out of `mix test` unless asked for with `--only integration`.
ExUnit.start(exclude: [:integration])
