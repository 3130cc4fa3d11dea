defmodule Snakepit.Marc.StreamResourcesTest do
  # Counts OS threads and file descriptors of the whole VM: nothing else may run meanwhile.
  use ExUnit.Case, async: false

  alias Snakepit.Marc
  alias Snakepit.Test.Corpus
  import Snakepit.Test.OsResources

  # Over the 4 MiB below which a file is read whole without threads.
  setup_all do
    path =
      Path.join(System.tmp_dir!(), "snakepit_resources_#{System.unique_integer([:positive])}.mrc")

    File.write!(path, String.duplicate(Corpus.read!("synthetic/realistic_2000.mrc"), 3))
    on_exit(fn -> File.rm(path) end)
    %{path: path}
  end

  setup %{path: path} do
    assert settles?(fn -> native_threads() == 0 end)
    %{path: path, fds: open_fds()}
  end

  test "a small file is read whole, with no threads", %{fds: fds} do
    stream = Marc.stream(Corpus.path("synthetic/records_10k.mrc"))

    Enum.reduce_while(stream, 0, fn _, n ->
      assert native_threads() == 0
      if n == 10, do: {:halt, n}, else: {:cont, n + 1}
    end)

    assert open_fds() == fds
  end

  test "halting early stops the native threads and closes the file", %{path: path, fds: fds} do
    stream = Marc.stream(path, threads: 2, batch_size: 10)

    [_ | _] =
      Enum.reduce_while(stream, [], fn record, acc ->
        # While the stream runs, its reader and parser threads and its file exist.
        if acc == [] do
          assert native_threads() == 3
          assert open_fds() == fds + 1
        end

        if length(acc) == 4, do: {:halt, [record | acc]}, else: {:cont, [record | acc]}
      end)

    # stream_close joins the threads before returning (threads_gone?/0 on why it may poll).
    assert threads_gone?()
    assert open_fds() == fds
  end

  # rayon does not join a dropped pool's threads: the reader joins its parse threads itself,
  # so none runs on after a close.
  test "every close has joined every thread when it returns", %{path: path, fds: fds} do
    leftovers =
      Enum.count(1..200, fn _ ->
        [_ | _] = Marc.stream(path, threads: 2, batch_size: 10) |> Enum.take(3)
        not threads_gone?()
      end)

    assert leftovers == 0
    assert open_fds() == fds
  end

  test "Enum.take/2 on a fan-out stops everything", %{path: path, fds: fds} do
    assert length(Marc.map(path, & &1, workers: 2, batch_size: 10) |> Enum.take(25)) == 25
    assert threads_gone?()
    assert open_fds() == fds
  end

  test "if the consuming process dies, its stream is cleaned up", %{path: path, fds: fds} do
    parent = self()

    pid =
      spawn(fn ->
        path
        |> Marc.stream(threads: 2, batch_size: 10)
        |> Enum.take(1)
        |> then(&send(parent, {:took, &1}))

        # Start a second stream and die in the middle of it, without its after-callback.
        Marc.stream(path, batch_size: 10)
        |> Enum.each(fn _ -> send(parent, :running) && Process.sleep(:infinity) end)
      end)

    assert_receive {:took, [_]}, 2_000
    assert_receive :running, 2_000
    assert native_threads() > 0
    Process.exit(pid, :kill)
    # The resource's destructor runs when the dead process's heap is freed.
    assert settles?(fn -> native_threads() == 0 end)
    assert settles?(fn -> open_fds() == fds end)
  end
end
