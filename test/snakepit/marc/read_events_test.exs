defmodule Snakepit.Marc.ReadEventsTest do
  # The records events (docs/telemetry.md): emitted with their documented keys, per call or
  # batch, once per record wherever it was read.
  use Snakepit.PoolCase, async: true

  alias Snakepit.Telemetry
  alias Snakepit.Test.Corpus

  @events [[:snakepit, :records, :read], [:snakepit, :records, :bad]]

  setup do
    # The events carry no pool: keep those of this test's process (handlers run in the
    # emitting process). Readers in other processes are counted in metrics_test, which runs
    # alone.
    test = self()
    id = make_ref()

    :ok =
      Telemetry.attach_many(
        id,
        @events,
        fn event, measurements, metadata, _ ->
          if self() == test, do: send(test, {:records, event, measurements, metadata})
        end,
        nil
      )

    on_exit(fn -> Telemetry.detach(id) end)
    :ok
  end

  defp received do
    receive do
      {:records, event, m, md} -> [{event, m, md} | received()]
    after
      0 -> []
    end
  end

  defp totals(events) do
    Enum.reduce(events, %{read: 0, bad: %{}}, fn
      {[:snakepit, :records, :read], %{count: n}, _}, acc ->
        %{acc | read: acc.read + n}

      {[:snakepit, :records, :bad], %{count: n}, %{kind: k}}, acc ->
        update_in(acc.bad[k], &((&1 || 0) + n))
    end)
  end

  test "the events carry exactly their documented keys" do
    {:ok, _} = Snakepit.Marc.parse(Corpus.read!("bad/pymarc_bad_records.mrc"), mode: :permissive)
    events = received()
    assert events != []

    for {event, measurements, metadata} <- events do
      spec = Enum.find(Telemetry.events(), &(&1.event == event))
      assert Enum.sort(Map.keys(measurements)) == Enum.sort(spec.measurements)
      assert Enum.sort(Map.keys(metadata)) == Enum.sort(spec.metadata)
    end
  end

  test "parse/2 in each mode: good records, bad ones by kind, skipped ones as :skipped" do
    bad = Corpus.read!("bad/pymarc_bad_records.mrc")

    {:ok, _} = Snakepit.Marc.parse(bad, mode: :permissive)

    assert totals(received()) == %{
             read: 2,
             bad: %{
               base_address_out_of_range: 2,
               invalid_directory_length: 1,
               invalid_directory_entry: 1,
               invalid_base_address: 1,
               no_fields: 1,
               truncated_record: 1
             }
           }

    {:error, _} = Snakepit.Marc.parse(bad)
    assert totals(received()) == %{read: 0, bad: %{base_address_out_of_range: 1}}

    {:ok, _} = Snakepit.Marc.parse(bad, mode: :skip)
    assert totals(received()) == %{read: 2, bad: %{skipped: 7}}
  end

  test "a stream counts each batch once" do
    path = Corpus.path("real/loc_bibliographic.mrc")
    assert 386 == path |> Snakepit.Marc.stream(batch_size: 100) |> Enum.count()
    assert totals(received()).read == 386
  end
end
