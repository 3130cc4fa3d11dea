defmodule Snakepit.Marc.SchedulerTest do
  # The GIL lesson: native work must never hold a normal scheduler. Global (system_monitor,
  # every core busy), so not async.
  use ExUnit.Case, async: false

  alias Snakepit.Marc
  alias Snakepit.Test.Corpus

  @threshold_ms 10

  # Runs `load` while watching for long schedules; returns the monitor's reports and the
  # probe's worst timer overshoot in ms.
  defp observe(load) do
    :erlang.system_monitor(self(), [{:long_schedule, @threshold_ms}])
    probe = Task.async(fn -> probe_latency(System.monotonic_time(:millisecond) + 1_500, []) end)
    load.()
    overshoots = Task.await(probe, 10_000)
    :erlang.system_monitor(:undefined)
    {collect_reports([]), overshoots}
  end

  # How late each 1 ms timer fired, in ms.
  defp probe_latency(deadline, acc) do
    if System.monotonic_time(:millisecond) >= deadline do
      acc
    else
      t0 = System.monotonic_time(:microsecond)
      Process.sleep(1)
      overshoot = (System.monotonic_time(:microsecond) - t0) / 1000 - 1
      probe_latency(deadline, [overshoot | acc])
    end
  end

  defp collect_reports(acc) do
    receive do
      {:monitor, who, :long_schedule, info} -> collect_reports([{who, info} | acc])
    after
      0 -> Enum.reverse(acc)
    end
  end

  test "the probe catches a NIF that holds a normal scheduler (so the next test can fail)" do
    {reports, _} =
      observe(fn ->
        Task.async(fn -> Snakepit.Native.debug_hold_scheduler(40) end) |> Task.await()
      end)

    assert reports != []
  end

  test "parsing, streaming and fan-out on every core never hold a normal scheduler" do
    bytes = Corpus.read!("synthetic/realistic_2000.mrc")
    path = Corpus.path("synthetic/records_10k.mrc")
    deadline = System.monotonic_time(:millisecond) + 1_200

    workers = fn ->
      for i <- 1..System.schedulers_online() do
        Task.async(fn -> busy(rem(i, 3), bytes, path, deadline) end)
      end
      |> Task.await_many(30_000)
    end

    {reports, overshoots} = observe(workers)
    assert reports == [], "long schedules: #{inspect(reports, limit: 5)}"
    # The OS may deschedule a scheduler thread now and then (the machine has other work),
    # but timers that are routinely late mean the schedulers were not free.
    late = Enum.count(overshoots, &(&1 > 20))

    assert late <= length(overshoots) * 0.05,
           "#{late} of #{length(overshoots)} probe timers fired over 20 ms late " <>
             "(worst #{Enum.max(overshoots)} ms)"
  end

  defp busy(kind, bytes, path, deadline) do
    if System.monotonic_time(:millisecond) < deadline do
      case kind do
        0 -> {:ok, _} = Marc.parse(bytes)
        1 -> Marc.stream(path) |> Stream.run()
        2 -> Marc.map(path, &Marc.Record.title/1, workers: 2) |> Stream.run()
      end

      busy(kind, bytes, path, deadline)
    end
  end
end
