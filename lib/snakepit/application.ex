defmodule Snakepit.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    # Pools from `config :snakepit, pools: [...]` (or the legacy flat form), validated here,
    # once: an invalid config stops the application with an ArgumentError naming the problem.
    pools = Enum.map(Snakepit.Config.configured_pools(), &Snakepit.Pool.child_spec/1)
    children = [Snakepit.Telemetry.Dispatcher | pools]
    Supervisor.start_link(children, strategy: :one_for_one, name: Snakepit.Supervisor)
  end
end
