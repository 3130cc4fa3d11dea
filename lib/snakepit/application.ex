defmodule Snakepit.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    # Pools from `config :snakepit, pools: [...]` (or the legacy flat form), validated here,
    # once: an invalid config stops the application with an ArgumentError naming the problem.
    # Each pool starts from its normalised config as it is (Pool.child_spec/1 would validate
    # it again, and a normalised worker_ttl in milliseconds is not a valid config value).
    pools =
      for config <- Snakepit.Config.configured_pools() do
        %{
          id: {Snakepit.Pool, config.name},
          start: {Snakepit.Pool, :start_validated, [config]},
          type: :supervisor
        }
      end

    # The diagnostics collector attaches telemetry handlers, so it starts after the dispatcher.
    children = [Snakepit.Telemetry.Dispatcher, Snakepit.Diagnostics.Collector | pools]
    Supervisor.start_link(children, strategy: :one_for_one, name: Snakepit.Supervisor)
  end
end
