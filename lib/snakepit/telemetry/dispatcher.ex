defmodule Snakepit.Telemetry.Dispatcher do
  # The built-in handler registry, used when :telemetry was not loadable as the application
  # started (Snakepit.Telemetry.backend/0). Handlers live in a
  # public ETS bag keyed by event, so `execute/3` is one lookup in the caller; attach and
  # detach go through this process so "already exists" checks cannot race.
  @moduledoc false
  use GenServer

  @table __MODULE__

  def start_link(_opts), do: GenServer.start_link(__MODULE__, :ok, name: __MODULE__)

  def attach_many(id, events, fun, config),
    do: GenServer.call(__MODULE__, {:attach, id, events, fun, config})

  def detach(id) do
    # A handler that raises is detached from inside `execute/3`, which may run in this very
    # process's caller chain; a direct ETS delete keeps that from deadlocking.
    case :ets.whereis(@table) do
      :undefined ->
        {:error, :not_found}

      _ ->
        case :ets.match_object(@table, {:_, id, :_, :_}) do
          [] ->
            {:error, :not_found}

          _ ->
            :ets.match_delete(@table, {:_, id, :_, :_})
            :ok
        end
    end
  end

  @doc "Whether any handler is attached to `event`."
  def handled?(event) do
    :ets.member(@table, event)
  rescue
    ArgumentError -> false
  end

  def execute(event, measurements, metadata) do
    handlers =
      try do
        :ets.lookup(@table, event)
      rescue
        ArgumentError -> []
      end

    for {_event, id, fun, config} <- handlers do
      Snakepit.Telemetry.invoke_handler(id, fun, event, measurements, metadata, config)
    end

    :ok
  end

  @impl true
  def init(:ok) do
    Snakepit.Telemetry.choose_backend()
    :ets.new(@table, [:duplicate_bag, :named_table, :public, read_concurrency: true])
    {:ok, nil}
  end

  @impl true
  def handle_call({:attach, id, events, fun, config}, _from, state) do
    if :ets.match_object(@table, {:_, id, :_, :_}) != [] do
      {:reply, {:error, :already_exists}, state}
    else
      :ets.insert(@table, Enum.map(events, &{&1, id, fun, config}))
      {:reply, :ok, state}
    end
  end
end
