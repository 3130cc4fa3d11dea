defmodule Snakepit.WorkerProfile.ChunkedParseTest do
  # A :process worker parses a big binary a batch at a time and sends each batch's records on
  # as they are made ({:chunked, _} results), so it never holds the whole result. The caller
  # must get exactly what parse/2 gives, in every mode.
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Test.Corpus

  setup do
    name = :"chunked_parse_#{System.unique_integer([:positive])}"
    start_supervised!({Snakepit.Pool, name: name, worker_profile: :process, pool_size: 1})
    %{pool: name}
  end

  # Bad records at the start, in the middle and at the end of more than 1 MiB.
  defp input do
    good = Corpus.read!("synthetic/records_10k.mrc")
    bad = Corpus.read!("bad/pymarc_bad_records.mrc")
    garbage = Corpus.read!("bad/testbed_garbage.mrc")
    data = IO.iodata_to_binary([bad, good, garbage, good, bad])
    assert byte_size(data) > 1_048_576
    data
  end

  test "every mode gives what parse/2 gives", %{pool: pool} do
    data = input()

    for opts <- [
          [mode: :permissive],
          [mode: :skip],
          [mode: :skip, report: true],
          [mode: :permissive, records: :lazy],
          []
        ] do
      assert Snakepit.execute(:parse, [data, opts], pool: pool, timeout: 60_000) ==
               Marc.parse(data, opts),
             inspect(opts)
    end

    good = Corpus.read!("synthetic/records_10k.mrc")
    both = good <> good
    assert {:ok, records} = Snakepit.execute(:parse, [both], pool: pool, timeout: 60_000)
    assert {:ok, ^records} = Marc.parse(both)
  end

  test "a big parse is made and handed on a batch at a time" do
    good = Corpus.read!("synthetic/records_10k.mrc")
    data = String.duplicate(good, 2)
    {:ok, records} = Marc.parse(data)

    assert {:chunked, chunks} = Snakepit.Marc.Commands.run(:parse, [data])
    parts = Enum.to_list(chunks)
    assert {:done, {:ok, []}} = List.last(parts)
    sizes = for {:chunk, items} <- parts, do: length(items)
    assert length(sizes) >= div(length(records), 200)
    assert Enum.max(sizes) <= 200

    # The pool layer hands each chunk on as it comes, in order, and keeps none of them.
    parent = self()
    emit = &send(parent, {:chunk, &1})
    assert {:ok, []} = Snakepit.Pool.Commands.run(Snakepit.Marc.Commands, {:parse, [data]}, emit)
    assert collect([]) == records

    # Without a sink (the :thread profile's local runs), the chunks are put back together.
    assert Snakepit.Pool.Commands.run(Snakepit.Marc.Commands, {:parse, [data]}) == {:ok, records}
    # A small input is one ordinary result.
    assert {:ok, [_ | _]} =
             Snakepit.Marc.Commands.run(:parse, [Corpus.read!("real/loc_bibliographic.mrc")])
  end

  defp collect(acc) do
    receive do
      {:chunk, items} -> collect([items | acc])
    after
      0 -> acc |> Enum.reverse() |> Enum.concat()
    end
  end
end
