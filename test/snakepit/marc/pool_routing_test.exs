defmodule Snakepit.Marc.PoolRoutingTest do
  use ExUnit.Case, async: true
  import Snakepit.PoolCase

  alias Snakepit.Marc
  alias Snakepit.Marc.{ParseError, Record}
  alias Snakepit.Test.Corpus

  @bib "real/loc_bibliographic.mrc"

  for profile <- [:process, :thread] do
    describe "#{profile} pool" do
      setup do
        pool = start_pool!(worker_profile: unquote(profile), pool_size: 2, threads_per_worker: 2)
        capture_telemetry([[:snakepit, :request, :stop]], pool)
        %{pool: pool}
      end

      test "stream/2 with pool: parses every batch in the pool's workers", %{pool: pool} do
        {:ok, expected} = Marc.parse(Corpus.read!(@bib))

        assert Marc.stream(Corpus.path(@bib), pool: pool, batch_size: 50) |> Enum.to_list() ==
                 expected

        # 386 records in batches of 50: 8 requests ran in the pool.
        for _ <- 1..8, do: assert_receive({:telemetry, [:snakepit, :request, :stop], _, _})
      end

      test "records: :lazy holds through a pool and its parse command", %{pool: pool} do
        bytes = Corpus.read!(@bib)
        {:ok, expected} = Marc.parse(bytes, records: :lazy)

        assert Marc.stream(Corpus.path(@bib), pool: pool, records: :lazy) |> Enum.to_list() ==
                 expected

        assert Snakepit.execute(:parse, [bytes, [records: :lazy]], pool: pool) == {:ok, expected}
      end

      test "map/3 with pool: runs the batches under the pool's capacity", %{pool: pool} do
        titles =
          Marc.map(Corpus.path(@bib), &Record.title/1, pool: pool, batch_size: 100)
          |> Enum.to_list()

        assert length(titles) == 386
        assert_receive {:telemetry, [:snakepit, :request, :stop], _, _}
      end

      test "modes hold through a pool", %{pool: pool} do
        bad = Corpus.path("bad/pymarc_bad_records.mrc")
        {:ok, expected} = Marc.parse(File.read!(bad), mode: :permissive)

        assert Marc.stream(bad, pool: pool, mode: :permissive, batch_size: 2) |> Enum.to_list() ==
                 expected

        assert [%Record{}, %Record{}] =
                 Marc.stream(bad, pool: pool, mode: :skip) |> Enum.to_list()

        {:ok, seen} = Agent.start_link(fn -> 0 end)

        assert_raise ParseError, fn ->
          Marc.stream(bad, pool: pool, batch_size: 100)
          |> Enum.each(fn _ -> Agent.update(seen, &(&1 + 1)) end)
        end

        # The good record before the first bad one still arrived.
        assert Agent.get(seen, & &1) == 1
      end
    end
  end

  test "an unknown pool is a clear error" do
    assert_raise Snakepit.Error, fn ->
      Marc.stream(Corpus.path(@bib), pool: :no_such_pool_here) |> Enum.take(1)
    end
  end
end
