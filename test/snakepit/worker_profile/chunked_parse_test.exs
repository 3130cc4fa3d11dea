defmodule Snakepit.WorkerProfile.ChunkedParseTest do
  # A :process worker parses a big binary a batch at a time and sends each batch's records on
  # as they are made ({:chunked, _} results), so it never holds the whole result. A :thread
  # worker parses it a run at a time and sends each run's records held natively, for the
  # caller to build. Either way the caller must get exactly what parse/2 gives, in every mode.
  use ExUnit.Case, async: true

  alias Snakepit.{Marc, Native}
  alias Snakepit.Test.{BothProfiles, Corpus}

  setup do
    BothProfiles.start_pools!("chunked_parse")
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

  test "every mode gives what parse/2 gives, on both profiles", %{pools: pools} do
    data = input()
    good = Corpus.read!("synthetic/records_10k.mrc")
    both = good <> good

    for pool <- pools do
      for opts <- [
            [mode: :permissive],
            [mode: :skip],
            [mode: :skip, report: true],
            [mode: :permissive, records: :lazy],
            [mode: :skip, to_unicode: true, normalize: :nfc],
            # Strict: the first bad record's error, the batches before it dropped.
            []
          ] do
        assert Snakepit.execute(:parse, [data, opts], pool: pool, timeout: 60_000) ==
                 Marc.parse(data, opts),
               "#{pool} #{inspect(opts)}"
      end

      assert {:ok, records} = Snakepit.execute(:parse, [both], pool: pool, timeout: 60_000)
      assert {:ok, ^records} = Marc.parse(both)
    end
  end

  test "a :thread job sends a big parse as batches held natively, for the caller to build" do
    data = input()
    config = Snakepit.Marc.Options.validate!([mode: :skip], :read)
    {:ok, pool} = Native.thread_pool_new(1, self(), 1, 0)
    tag = make_ref()
    assert {:ok, _ticket} = Native.thread_pool_submit(pool, tag, :parse, {data, config})
    {batches, reply} = receive_chunks(tag, [])
    Native.thread_pool_close(pool)

    # One small message per run of about 1 MiB, each one reference; the reply has no items.
    assert length(batches) >= div(byte_size(data), 1_048_576)
    assert Enum.all?(batches, &match?([prepared] when is_reference(prepared), &1))
    {:ok, expected, %{skipped: skipped}} = Marc.parse(data, mode: :skip, report: true)
    assert reply == {:ok, [], skipped}

    prepared = Enum.concat(batches)
    assert List.foldr(prepared, [], &Native.prepared_items/2) == expected
    # Each batch is built once: its records have gone to the first builder.
    assert_raise ArgumentError, fn -> Native.prepared_items(hd(prepared), []) end
  end

  defp receive_chunks(tag, acc) do
    receive do
      {^tag, {:snakepit_chunk, items}} -> receive_chunks(tag, [items | acc])
      {^tag, reply} -> {Enum.reverse(acc), reply}
    after
      30_000 -> flunk("no reply")
    end
  end

  test "a big parse is made and handed on a batch at a time" do
    good = Corpus.read!("synthetic/records_10k.mrc")
    data = String.duplicate(good, 2)
    {:ok, records} = Marc.parse(data)

    assert {:chunked, chunks} = Snakepit.Marc.Commands.run(:parse, [data])
    parts = Enum.to_list(chunks)
    assert {:done, {:ok, []}} = List.last(parts)
    # Each batch (at most 200 records) goes as one reference to its records held natively.
    batches = for {:chunk, items} <- parts, do: items
    assert length(batches) >= div(length(records), 200)
    assert Enum.all?(batches, &match?([prepared] when is_reference(prepared), &1))

    # The pool layer hands each chunk on as it comes, in order, and keeps none of them; the
    # caller's finish/3 builds the records.
    parent = self()
    emit = &send(parent, {:chunk, &1})
    request = {:parse, [data]}
    assert {:ok, []} = Snakepit.Pool.Commands.run(Snakepit.Marc.Commands, request, emit)
    sent = collect([])

    assert Snakepit.Pool.Commands.finish(Snakepit.Marc.Commands, request, {:ok, sent}) ==
             {:ok, records}

    # Without a sink (the :thread profile's local runs), the chunks are put back together.
    kept = Snakepit.Pool.Commands.run(Snakepit.Marc.Commands, request)
    assert Snakepit.Pool.Commands.finish(Snakepit.Marc.Commands, request, kept) == {:ok, records}
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
