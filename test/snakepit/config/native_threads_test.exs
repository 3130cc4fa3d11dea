defmodule Snakepit.Config.NativeThreadsTest do
  # Not async: stream_resources_test counts the `snakepit-` threads alive, and a pool's are.
  use Snakepit.PoolCase, async: false

  alias Snakepit.Config.NativeThreads

  test "the configured value: 10 by default, checked like every option" do
    assert NativeThreads.configured!([]) == 10
    assert NativeThreads.configured!(native_thread_nice: 0) == 0

    for bad <- [20, -1, "5", 2.0] do
      assert_raise ArgumentError,
                   ~r/native_thread_nice.*got: #{Regex.escape(inspect(bad))}/,
                   fn ->
                     NativeThreads.configured!(native_thread_nice: bad)
                   end
    end
  end

  @tag skip:
         if(match?({:unix, :linux}, :os.type()),
           do: false,
           else: "nice is per thread on Linux only"
         )
  @tag :tmp_dir
  test "the threads of pools and streams run at the configured nice value; the VM's do not",
       %{tmp_dir: tmp_dir} do
    pool =
      start_pool!(
        commands: Snakepit.Test.Commands,
        worker_profile: :thread,
        pool_size: 1,
        threads_per_worker: 2
      )

    assert pool
    # A file over the 4 MiB below which it is read whole: a reader thread and parsers run
    # while the stream is open.
    path = Path.join(tmp_dir, "big.mrc")

    File.write!(
      path,
      String.duplicate(Snakepit.Test.Corpus.read!("synthetic/realistic_2000.mrc"), 3)
    )

    {[_], continuation} = next_one(Snakepit.Marc.stream(path, threads: 2))

    # The VM may itself run at a nice value (`nice mix test`): threads are lowered, never raised.
    base = threads() |> Enum.find_value(fn {name, nice} -> name == "1_scheduler" && nice end)
    expected = max(base, NativeThreads.configured!())
    niced = threads() |> Enum.filter(fn {name, _} -> String.starts_with?(name, "snakepit-") end)
    assert Enum.count(niced, &match?({"snakepit-reader", _}, &1)) == 1
    assert length(niced) >= 4
    assert Enum.all?(niced, fn {_, nice} -> nice == expected end), inspect(niced)

    schedulers =
      threads() |> Enum.filter(fn {name, _} -> String.ends_with?(name, "_scheduler") end)

    assert Enum.all?(schedulers, fn {_, nice} -> nice == base end)
    continuation.({:halt, nil})
  end

  defp next_one(stream) do
    {:suspended, acc, continuation} =
      Enumerable.reduce(stream, {:cont, []}, fn record, acc -> {:suspend, [record | acc]} end)

    {acc, continuation}
  end

  # {name, nice} of every thread of this VM.
  defp threads do
    for task <- File.ls!("/proc/self/task"),
        {:ok, stat} <- [File.read("/proc/self/task/#{task}/stat")],
        {:ok, comm} <- [File.read("/proc/self/task/#{task}/comm")] do
      [_, after_name] = String.split(stat, ") ", parts: 2)
      {String.trim(comm), after_name |> String.split(" ") |> Enum.at(16) |> String.to_integer()}
    end
  end
end
