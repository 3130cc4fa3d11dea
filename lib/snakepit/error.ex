defmodule Snakepit.Error do
  @moduledoc """
  A structured error from a pool or a command.

  `reason` is an atom you can match on; `details` carries context (pool, command, the
  underlying term). Functions that return tagged tuples document which reasons they use;
  the bang variants raise this exception.

  Reasons:

    * `:pool_not_found` - no pool is running under the given name
    * `:pool_saturated` - every worker was busy and the wait queue was full
    * `:queue_timeout` - the request waited `:queue_timeout` ms for a worker and got none
    * `:timeout` - the request was dispatched but no result came within `:timeout`
    * `:worker_crashed` - the worker died while running the request
    * `:unsupported_command` - no such command, or its implementation is not available
    * `:invalid_arguments` - the command's arguments have the wrong shape
    * `:native_panic` - the native code panicked; the panic was caught, the VM is fine
    * `:exception` - the command or function raised, threw or exited in the worker
    * `{:node_down, node}` - with `nodes: :cluster`, the node running the request went down
      or stopped answering (docs/cluster.md)
  """

  @type reason ::
          :pool_not_found
          | :pool_saturated
          | :queue_timeout
          | :timeout
          | :worker_crashed
          | :unsupported_command
          | :invalid_arguments
          | :native_panic
          | :exception
          | {:node_down, node}
          | atom

  @type t :: %__MODULE__{reason: reason, message: String.t(), details: map}

  defexception [:reason, :message, details: %{}]

  @impl true
  def exception(opts) when is_list(opts) do
    reason = Keyword.fetch!(opts, :reason)
    details = Map.new(Keyword.get(opts, :details, %{}))

    %__MODULE__{
      reason: reason,
      details: details,
      message: opts[:message] || describe(reason, details)
    }
  end

  @doc """
  The error for `reason`, worded from `details`, so every module words the same reason the
  same way. Give the pool when there is one: a reason from `Snakepit.Pool.run/3` becomes
  `Snakepit.Error.new(reason, pool: pool)`, whose message names it.
  """
  @spec new(reason, map | keyword) :: t
  def new(reason, details \\ %{}), do: exception(reason: reason, details: details)

  defp describe(:pool_not_found, d) do
    name = if d[:pool], do: "named #{inspect(d[:pool])} ", else: ""

    hint =
      if Process.whereis(Snakepit.Supervisor),
        do:
          "configure it under `config :snakepit, pools: [...]` or start it with " <>
            "`{Snakepit.Pool, name: #{inspect(d[:pool] || :name)}}` in a supervision tree",
        else:
          "the :snakepit application is not started (start it with " <>
            "`Application.ensure_all_started(:snakepit)`, or list :snakepit in your deps)"

    "no Snakepit pool #{name}is running: #{hint}"
  end

  defp describe(:pool_saturated, d),
    do: "#{pool(d)} is saturated: all workers busy and the queue is full"

  defp describe(:queue_timeout, d),
    do: "no worker of #{pool(d)} became free within the queue timeout"

  defp describe(:timeout, d),
    do:
      "command #{inspect(d[:command])} got no result within #{inspect(d[:timeout])} ms; " <>
        "give a larger `timeout:` (or `:infinity`), or for large inputs use " <>
        "`Snakepit.Marc.stream/2` or `Snakepit.Marc.map/3` with `pool:`, which work batch by batch"

  defp describe(:worker_crashed, d),
    do: "the worker running #{inspect(d[:command])} crashed: #{inspect(d[:exit_reason])}"

  defp describe(:unsupported_command, d),
    do:
      "command #{inspect(d[:command])} is not supported#{if d[:why], do: ": " <> d[:why], else: ""}"

  # The message of the error the command raised, as a direct call gives it; else the
  # arguments, bounded (they may hold a whole input binary).
  defp describe(:invalid_arguments, %{exception: %_{__exception__: true} = e}),
    do: Exception.message(e)

  defp describe(:invalid_arguments, d),
    do:
      "invalid arguments for command #{inspect(d[:command])}, got: " <>
        inspect(d[:args], limit: 8, printable_limit: 64)

  defp describe(:exception, d), do: "command #{inspect(d[:command])} raised: #{d[:message]}"
  defp describe(:native_panic, d), do: "native code panicked: #{d[:panic]}"

  defp describe({:node_down, node}, d),
    do:
      "node #{node} went down or stopped answering while running #{inspect(d[:command])} " <>
        "for #{pool(d)}"

  defp describe(reason, d),
    do: "snakepit error #{inspect(reason)}: #{inspect(d, limit: 8, printable_limit: 64)}"

  defp pool(%{pool: pool}) when pool != nil, do: "pool #{inspect(pool)}"
  defp pool(_details), do: "the pool"
end
