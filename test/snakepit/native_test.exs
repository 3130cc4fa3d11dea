defmodule Snakepit.NativeTest do
  # The NIF library's process-wide behaviour, outside any one NIF.
  use ExUnit.Case, async: true

  alias Snakepit.Test.Corpus

  # mimalloc, the NIF's allocator on Linux, would madvise its regions for transparent huge
  # pages; with the kernel's default `defrag = madvise`, the first touch of such a region
  # zeroes 2 MB and may compact memory synchronously, and a fresh VM's first stream batches
  # took 7-9 ms in `stream_next` on a normal scheduler. Built with mimalloc's `no_thp`, no
  # mapping of the VM asks for them (`hg` in /proc/self/smaps).
  test "the native allocator asks the kernel for no transparent huge pages" do
    case File.read("/proc/self/smaps") do
      {:ok, _} ->
        # Native allocations of every size the stream and extraction make.
        bin = :binary.copy(Corpus.read!("synthetic/records_10k.mrc"), 4)
        assert Snakepit.Marc.batches(bin) |> Enum.count() > 0
        assert Snakepit.Marc.extract(bin, t: "245a") |> Enum.count() == 40_000

        advised =
          File.read!("/proc/self/smaps")
          |> String.split("\n")
          |> Enum.filter(&(String.starts_with?(&1, "VmFlags:") and " hg" in flags(&1)))

        assert advised == []

      {:error, _} ->
        # Not Linux: nothing to check.
        :ok
    end
  end

  defp flags("VmFlags:" <> flags), do: flags |> String.split() |> Enum.map(&(" " <> &1))
end
