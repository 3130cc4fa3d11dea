defmodule Snakepit.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    # Pools from `config :snakepit, pools: [...]` (or the legacy flat form), validated here,
    # once: an invalid config stops the application with an ArgumentError naming the problem.
    # Each pool starts from its normalised config as it is, never validated a second time.
    pools = Enum.map(Snakepit.Config.configured_pools(), &Snakepit.Pool.validated_child_spec/1)

    # Before any native thread starts: they take this nice value as they start.
    Snakepit.Config.NativeThreads.apply!()

    # The diagnostics collector attaches telemetry handlers, so it starts after the dispatcher.
    # The :pg scope and the cluster directory come before the pools, which join the scope;
    # metrics (only when configured) too, so they see the workers start.
    cluster = [
      Snakepit.Pool.Cluster.Groups,
      {Snakepit.Pool.Cluster.Directory, Map.to_list(Snakepit.Pool.Cluster.Options.configured!())}
    ]

    children =
      [Snakepit.Telemetry.Dispatcher, Snakepit.Diagnostics.Collector] ++
        Snakepit.Metrics.configured_children() ++ cluster ++ pools

    Supervisor.start_link(children, strategy: :one_for_one, name: Snakepit.Supervisor)
  end
end
