defmodule Snakepit.TelemetryTest do
  use Snakepit.PoolCase, async: true

  import ExUnit.CaptureLog

  alias Snakepit.Telemetry

  @doc_path Path.expand("../../docs/telemetry.md", __DIR__)

  describe "docs/telemetry.md" do
    test "lists exactly the events in Snakepit.Telemetry.events/0, with the same keys" do
      documented = parse_doc(File.read!(@doc_path))

      expected =
        for e <- Telemetry.events(),
            into: %{},
            do: {e.event, {Enum.sort(e.measurements), Enum.sort(e.metadata)}}

      assert documented == expected
    end
  end

  describe "every event is emitted with its documented keys" do
    setup do
      pool = :"telemetry_pool_#{System.unique_integer([:positive])}"
      capture_telemetry(Telemetry.event_names(), pool)
      %{pool: pool}
    end

    test "request spans and :executed", %{pool: pool} do
      start_pool!(name: pool, pool_size: 1)
      assert {:ok, 1} = Snakepit.execute(:ping, [1], pool: pool)

      assert_documented([:snakepit, :request, :start], %{
        worker: nil,
        command: :ping,
        profile: :process
      })

      stop = assert_documented([:snakepit, :request, :stop], %{command: :ping, result: :ok})
      assert is_integer(stop.worker)
      assert_documented([:snakepit, :request, :executed], %{command: :ping, success: true})
    end

    test "request :exception", %{pool: pool} do
      start_pool!(name: pool, pool_size: 1, worker_profile: Snakepit.Test.FlakyProfile)

      assert_raise RuntimeError, "profile bug", fn ->
        Snakepit.execute(:__raise_in_caller__, [], pool: pool)
      end

      assert_documented([:snakepit, :request, :exception], %{
        kind: :error,
        command: :__raise_in_caller__
      })
    end

    test "worker :started, :recycled", %{pool: pool} do
      start_pool!(name: pool, pool_size: 1)
      started = assert_documented([:snakepit, :worker, :started], %{capacity: 1, replaces: nil})
      assert :ok = Snakepit.recycle_worker(pool, started.worker)

      assert_documented([:snakepit, :worker, :recycled], %{
        reason: :manual,
        worker: started.worker
      })
    end

    test "worker :health_check_failed", %{pool: pool} do
      start_pool!(
        name: pool,
        pool_size: 1,
        worker_profile: Snakepit.Test.FlakyProfile,
        health_check_interval: 10
      )

      [id] = Map.keys(worker_pids(pool))
      Snakepit.Test.FlakyProfile.make_unhealthy(pool, id)

      assert_documented([:snakepit, :worker, :health_check_failed], %{
        worker: id,
        reason: :made_unhealthy
      })
    end

    test "pool :capacity_reached, :saturated, queue :timeout", %{pool: pool} do
      start_pool!(
        commands: Snakepit.Test.Commands,
        name: pool,
        pool_size: 1,
        max_queue_size: 1,
        queue_timeout: 50
      )

      busy = Task.async(fn -> Snakepit.execute(:sleep, [200], pool: pool) end)
      eventually(fn -> status!(pool).load == 1 end)
      queued = Task.async(fn -> Snakepit.execute(:ping, [1], pool: pool) end)
      eventually(fn -> status!(pool).queue_length == 1 end)
      assert {:error, :pool_saturated} = Snakepit.execute(:ping, [2], pool: pool)
      assert {:error, :queue_timeout} = Task.await(queued)
      Task.await(busy)

      assert_documented([:snakepit, :pool, :capacity_reached], %{})
      assert_documented([:snakepit, :pool, :saturated], %{})
      assert_documented([:snakepit, :pool, :queue, :timeout], %{})
    end
  end

  describe "built-in dispatcher" do
    setup do
      %{event: [:snakepit_test, :"event_#{System.unique_integer([:positive])}"]}
    end

    test "attach, execute, detach", %{event: event} do
      id = make_ref()
      test = self()

      assert :ok =
               Telemetry.attach(id, event, fn e, m, md, c -> send(test, {e, m, md, c}) end, :cfg)

      assert {:error, :already_exists} =
               Telemetry.attach(id, event, fn _, _, _, _ -> :ok end, nil)

      Telemetry.execute(event, %{n: 1}, %{k: :v})
      assert_received {^event, %{n: 1}, %{k: :v}, :cfg}

      assert :ok = Telemetry.detach(id)
      assert {:error, :not_found} = Telemetry.detach(id)
      Telemetry.execute(event, %{n: 2}, %{})
      refute_received {^event, _, _, _}
    end

    test "attach_many attaches one handler to several events", %{event: event} do
      other = event ++ [:other]
      test = self()
      id = make_ref()
      :ok = Telemetry.attach_many(id, [event, other], fn e, _, _, _ -> send(test, e) end, nil)
      Telemetry.execute(event, %{}, %{})
      Telemetry.execute(other, %{}, %{})
      assert_received ^event
      assert_received ^other
      Telemetry.detach(id)
    end

    test "a handler that raises is detached and logged", %{event: event} do
      id = {:raiser, make_ref()}
      :ok = Telemetry.attach(id, event, fn _, _, _, _ -> raise "handler bug" end, nil)

      log = capture_log(fn -> Telemetry.execute(event, %{}, %{}) end)
      assert log =~ "handler bug"
      assert log =~ "detached"
      assert {:error, :not_found} = Telemetry.detach(id)
    end

    test "span emits start and stop, or exception, sharing a context", %{event: event} do
      test = self()
      id = make_ref()
      events = [event ++ [:start], event ++ [:stop], event ++ [:exception]]
      :ok = Telemetry.attach_many(id, events, fn e, m, md, _ -> send(test, {e, m, md}) end, nil)

      assert :result == Telemetry.span(event, %{a: 1}, fn -> {:result, %{b: 2}} end)
      start_event = event ++ [:start]
      stop_event = event ++ [:stop]

      assert_received {^start_event, %{system_time: _, monotonic_time: _},
                       %{a: 1, telemetry_span_context: ctx}}

      assert_received {^stop_event, %{duration: d}, %{b: 2, telemetry_span_context: ^ctx}}
      assert d >= 0

      assert_raise RuntimeError, fn -> Telemetry.span(event, %{a: 1}, fn -> raise "boom" end) end
      exception_event = event ++ [:exception]

      assert_received {^exception_event, %{duration: _},
                       %{kind: :error, reason: %RuntimeError{}, stacktrace: _}}

      Telemetry.detach(id)
    end
  end

  # The documented measurement and metadata keys must be exactly those emitted.
  defp assert_documented(event, expected_metadata) do
    spec = Enum.find(Telemetry.events(), &(&1.event == event))
    assert_receive {:telemetry, ^event, measurements, metadata}, 1000
    assert Enum.sort(Map.keys(measurements)) == Enum.sort(spec.measurements)
    assert Enum.sort(Map.keys(metadata)) == Enum.sort(spec.metadata)
    for {k, v} <- expected_metadata, do: assert(metadata[k] == v, "#{inspect(event)} #{k}")
    metadata
  end

  defp parse_doc(text) do
    Regex.scan(~r/^### `(\[[^`]+\])`\n(.*?)(?=^### |\z)/ms, text)
    |> Map.new(fn [_, event, body] ->
      {event, []} = Code.eval_string(event)
      [_, measurements] = Regex.run(~r/^- Measurements: (.*)$/m, body)
      [_, metadata] = Regex.run(~r/^- Metadata: (.*)$/m, body)
      {event, {keys(measurements), keys(metadata)}}
    end)
  end

  defp keys(line),
    do:
      Regex.scan(~r/`(\w+)`/, line) |> Enum.map(fn [_, k] -> String.to_atom(k) end) |> Enum.sort()
end
