defmodule Snakepit.Test.OsResources do
  @moduledoc false
  # What the VM holds at the OS level, for tests that check native threads and files are
  # released. Only meaningful in `async: false` modules.

  @doc "Threads of this VM whose name starts with `snakepit-` (readers, parsers)."
  def native_threads do
    "/proc/self/task/*/comm"
    |> Path.wildcard()
    |> Enum.count(fn comm -> match?({:ok, "snakepit-" <> _}, File.read(comm)) end)
  end

  @doc """
  The ids of this VM's `:thread` pool threads (named `snakepit-` and a number), so that a
  test can tell its own pool's threads from others that come and go (stream readers of
  earlier tests, left to notice their stream is gone).
  """
  def pool_thread_ids do
    for comm <- Path.wildcard("/proc/self/task/*/comm"),
        # A thread that exits meanwhile has no comm left to read: it is not counted.
        {:ok, name} <- [File.read(comm)],
        String.match?(name, ~r/^snakepit-\d+\n?$/),
        into: MapSet.new(),
        do: comm |> Path.dirname() |> Path.basename()
  end

  @doc """
  Whether every `snakepit-` thread is gone within 200 ms. A joined thread is finished, but
  the kernel wakes the joiner before it removes the thread from /proc/self/task, so a count
  taken right after a join may still see it, for microseconds; 200 ms is far longer than
  that and far shorter than a thread left to run on.
  """
  def threads_gone?, do: settles?(fn -> native_threads() == 0 end, 10)

  @doc "Open file descriptors of this VM."
  def open_fds, do: length(File.ls!("/proc/self/fd"))

  @doc "Polls `fun` every 20 ms, up to `tries` times; whether it became true."
  def settles?(fun, tries \\ 100) do
    cond do
      fun.() -> true
      tries == 0 -> false
      true -> Process.sleep(20) && settles?(fun, tries - 1)
    end
  end

  @doc "A path in a fresh temporary directory removed when the test exits."
  def tmp_path(context, ext) do
    dir = Path.join(System.tmp_dir!(), "snakepit_test_#{System.unique_integer([:positive])}")
    File.mkdir_p!(dir)
    ExUnit.Callbacks.on_exit(fn -> File.rm_rf!(dir) end)
    Path.join(dir, "#{context}#{ext}")
  end
end
