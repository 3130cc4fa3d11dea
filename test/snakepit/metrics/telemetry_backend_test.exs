defmodule Snakepit.Metrics.TelemetryBackendTest do
  # Snakepit.Metrics with the :telemetry backend (a host that has :telemetry): a stand-in
  # :telemetry module that dispatches as the real one does is loaded and chosen as the
  # backend, so this changes the whole VM: run alone.
  use Snakepit.PoolCase, async: false

  alias Snakepit.Test.MetricsText

  @backend_key {Snakepit.Telemetry, :backend}
  @handlers_key {__MODULE__, :handlers}

  setup do
    # This suite runs without :telemetry, so the built-in dispatcher was chosen at start.
    refute :erlang.module_loaded(:telemetry)
    previous = :persistent_term.get(@backend_key)
    load_fake_telemetry()
    :persistent_term.put(@backend_key, :telemetry)

    on_exit(fn ->
      :persistent_term.put(@backend_key, previous)
      :persistent_term.erase(@handlers_key)
      :code.purge(:telemetry)
      :code.delete(:telemetry)
      :code.purge(:telemetry)
    end)

    :ok
  end

  test "the metrics attach to :telemetry and count what it dispatches" do
    start_supervised!(Snakepit.Metrics)
    assert [{{Snakepit.Metrics.Store, :handler}, events, _fun, _config}] = handlers()
    assert [:snakepit, :request, :stop] in events

    pool = start_pool!(pool_size: 1)
    {:ok, _} = Snakepit.execute(:ping, [1], pool: pool)
    Snakepit.Telemetry.execute([:snakepit, :records, :read], %{count: 4}, %{})

    samples = MetricsText.parse(Snakepit.Metrics.render())
    assert samples[~s(snakepit_requests_total{pool="#{pool}",command="ping",result="ok"})] == 1
    assert samples["snakepit_records_read_total"] == 4

    stop_supervised!(Snakepit.Metrics)
    assert handlers() == []
  end

  defp handlers, do: :persistent_term.get(@handlers_key, [])

  # The part of :telemetry's API Snakepit uses, dispatching in the caller as it does.
  defp load_fake_telemetry do
    key = @handlers_key

    Module.create(
      :telemetry,
      quote do
        def attach_many(id, events, fun, config) do
          handlers = :persistent_term.get(unquote(key), [])

          if List.keymember?(handlers, id, 0) do
            {:error, :already_exists}
          else
            :persistent_term.put(unquote(key), [{id, events, fun, config} | handlers])
            :ok
          end
        end

        def detach(id) do
          handlers = :persistent_term.get(unquote(key), [])

          if List.keymember?(handlers, id, 0) do
            :persistent_term.put(unquote(key), List.keydelete(handlers, id, 0))
            :ok
          else
            {:error, :not_found}
          end
        end

        def list_handlers(event) do
          for {id, events, _fun, _config} <- :persistent_term.get(unquote(key), []),
              event in events,
              do: %{id: id, event_name: event}
        end

        def execute(event, measurements, metadata) do
          for {_id, events, fun, config} <- :persistent_term.get(unquote(key), []),
              event in events,
              do: fun.(event, measurements, metadata, config)

          :ok
        end
      end,
      Macro.Env.location(__ENV__)
    )
  end
end
