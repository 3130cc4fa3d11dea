defmodule Snakepit.Marc.ExtractPoolTest do
  # extract/3 through a pool on this node (a small input cut into batches at once, a bigger
  # one streamed): the same values as one process, in every mode; no slot is lost however
  # the consumer stops.
  use ExUnit.Case, async: true

  import Snakepit.Test.BothProfiles
  alias Snakepit.Marc
  alias Snakepit.Marc.Spec
  alias Snakepit.Test.Corpus

  import Snakepit.Test.StreamOutcome

  setup do
    start_pools!(:extract_fan)
  end

  @dump Corpus.path("synthetic/records_10k.mrc")

  test "every mode gives what one process gives, through either profile", %{pools: pools} do
    spec = Spec.compile!(t: "245a", i: "020a")

    for file <- ~w(bad/pymarc_bad_records.mrc bad/testbed_invalid_lengths.mrc
                   bad/testbed_garbage.mrc real/loc_bibliographic.mrc synthetic/records_10k.mrc),
        mode <- [:strict, :permissive, :skip],
        pool <- pools do
      path = Corpus.path(file)
      one = outcome(Marc.extract(path, spec, mode: mode))

      for opts <- [[pool: pool], [pool: pool, workers: 3, batch_size: 7], [workers: 2]] do
        assert outcome(Marc.extract(path, spec, [mode: mode] ++ opts)) == one,
               "#{file} #{mode} #{inspect(opts)}"
      end
    end
  end

  test "Enum.take/2 through either profile, many times over, leaves every slot free",
       %{pools: pools} do
    for pool <- pools, n <- [1, 150, 2_500] do
      for _ <- 1..4 do
        assert length(Marc.extract(@dump, [i: "020a"], pool: pool) |> Enum.take(n)) == n
      end

      assert_free(pool)
    end

    refute_received _
  end

  test "a consumer killed mid-stream loses no slot", %{pools: pools} do
    for pool <- pools do
      test = self()

      consumer =
        spawn(fn ->
          Marc.extract(@dump, [i: "020a"], pool: pool, batch_size: 10)
          |> Stream.each(fn _ -> send(test, :row) end)
          |> Stream.each(fn _ -> Process.sleep(1) end)
          |> Stream.run()
        end)

      assert_receive :row, 5000
      ref = Process.monitor(consumer)
      Process.exit(consumer, :kill)
      assert_receive {:DOWN, ^ref, :process, _, :killed}
      assert_free(pool)

      assert {:ok, [_ | _]} =
               Snakepit.execute(:extract, [File.read!(@dump), [i: "020a"]], pool: pool)
    end
  end

  defp assert_free(pool) do
    Snakepit.PoolCase.eventually(
      fn -> match?({:ok, %{load: 0}}, Snakepit.pool_status(pool)) end,
      10_000
    )
  end
end
