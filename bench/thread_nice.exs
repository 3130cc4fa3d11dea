# How late a 1 ms timer fires on a normal scheduler while a `:thread` pool parses the 80 MB
# file of bench/scheduler.exs and hands all its records to the caller, with the pool's
# native threads reniced to NICE (docs/architecture.md, Scheduler discipline). Prints
# {run, ms, {p50, p99, max}} of timer intervals in ms (1 ms is on time). Setting a lower
# nice value than the configured one needs root.
#
#     NICE=0 MIX_ENV=prod mix run bench/thread_nice.exs
#     NICE=19 MIX_ENV=prod mix run bench/thread_nice.exs
path = "bench/data/scheduler_80mb.mrc"
unless File.exists?(path), do: raise("run bench/scheduler.exs first: it makes #{path}")
tpw = String.to_integer(System.get_env("TPW", "2"))

{:ok, _} =
  Snakepit.Pool.start_link(
    name: :gt,
    worker_profile: :thread,
    pool_size: 1,
    threads_per_worker: tpw
  )

bin = File.read!(path)

nice =
  case System.get_env("NICE") do
    "" -> nil
    n -> n
  end

if nice do
  Process.sleep(100)

  for t <- File.ls!("/proc/self/task"),
      String.starts_with?(File.read!("/proc/self/task/#{t}/comm"), "snakepit"),
      do: System.cmd("renice", ["-n", nice, "-p", t])
end

defmodule P do
  def probe(parent, acc) do
    t = System.monotonic_time(:microsecond)

    receive do
      :stop -> send(parent, {:o, acc})
    after
      1 -> probe(parent, [(System.monotonic_time(:microsecond) - t) / 1000 | acc])
    end
  end

  def pct(xs) do
    s = Enum.sort(xs)
    n = length(s)
    {Enum.at(s, div(n, 2)), Enum.at(s, min(n - 1, trunc(n * 0.99))), List.last(s)}
  end
end

minheap = String.to_integer(System.get_env("MINHEAP", "0"))

for i <- 1..3 do
  parent = self()
  pr = spawn(fn -> P.probe(parent, []) end)
  t0 = System.monotonic_time(:millisecond)

  Task.async(fn ->
    if minheap > 0, do: Process.flag(:min_heap_size, minheap)
    {:ok, _} = Snakepit.execute(:parse, [bin, [mode: :skip]], pool: :gt, timeout: 60_000)
    :ok
  end)
  |> Task.await(60_000)

  ms = System.monotonic_time(:millisecond) - t0
  send(pr, :stop)

  receive do
    {:o, o} -> IO.inspect({i, ms, P.pct(o)})
  end

  :erlang.garbage_collect()
end
