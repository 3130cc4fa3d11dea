defmodule Snakepit.WorkerProfileTest do
  # The same contract, run against both profiles: every command through a pool returns
  # exactly what the record API returns when called directly.
  use Snakepit.PoolCase, async: true

  alias Snakepit.Test.Corpus

  @good "formats/pymarc_test.dat"
  @bad "bad/pymarc_bad_records.mrc"

  for profile <- [:process, :thread] do
    describe "#{profile} profile" do
      setup do
        pool = start_pool!(worker_profile: unquote(profile), pool_size: 2, threads_per_worker: 2)
        %{pool: pool}
      end

      test "ping echoes any term", %{pool: pool} do
        term = %{a: [1, "two", {:three}]}
        assert Snakepit.execute(:ping, [term], pool: pool) == {:ok, term}
      end

      test "parse matches Snakepit.Marc.parse/2 in every mode", %{pool: pool} do
        good = Corpus.read!(@good)
        bad = Corpus.read!(@bad)
        assert Snakepit.execute(:parse, [good], pool: pool) == Snakepit.Marc.parse(good)

        for opts <- [
              [mode: :strict],
              [mode: :permissive],
              [mode: :skip, report: true],
              [validate_utf8: false],
              [to_unicode: true, normalize: :nfc, marc8_errors: :replace]
            ] do
          assert Snakepit.execute(:parse, [bad, opts], pool: pool) ==
                   Snakepit.Marc.parse(bad, opts)
        end

        assert {:error, %Snakepit.Marc.ParseError{}} = Snakepit.execute(:parse, [bad], pool: pool)
      end

      test "parse and validate convert MARC-8 like the record API", %{pool: pool} do
        marc8 = Corpus.read!("marc8/pymarc_marc8.dat")

        for opts <- [[], [to_unicode: false], [normalize: :nfd]] do
          assert Snakepit.execute(:parse, [marc8, opts], pool: pool) ==
                   Snakepit.Marc.parse(marc8, opts)

          assert Snakepit.execute(:validate, [marc8, opts], pool: pool) ==
                   {:ok, Snakepit.Marc.validate(marc8, opts)}
        end
      end

      test "count, scan and validate match the record API", %{pool: pool} do
        for file <- [@good, @bad] do
          bytes = Corpus.read!(file)

          assert Snakepit.execute(:count, [bytes], pool: pool) ==
                   {:ok, Snakepit.Marc.count(bytes)}

          assert Snakepit.execute(:scan, [bytes], pool: pool) == {:ok, Snakepit.Marc.scan(bytes)}

          assert Snakepit.execute(:validate, [bytes], pool: pool) ==
                   {:ok, Snakepit.Marc.validate(bytes)}
        end
      end

      test "encode round-trips", %{pool: pool} do
        bytes = Corpus.read!("formats/pymarc_one.dat")
        {:ok, records} = Snakepit.execute(:parse, [bytes], pool: pool)
        assert {:ok, iodata} = Snakepit.execute(:encode, [records], pool: pool)
        assert IO.iodata_to_binary(iodata) == bytes
      end

      test "to_json and to_xml return what the record API returns", %{pool: pool} do
        {:ok, records} = Snakepit.Marc.parse(Corpus.read!("formats/pymarc_one.dat"))

        assert Snakepit.execute(:to_json, [records, []], pool: pool) ==
                 {:ok, Snakepit.Marc.to_json(records, [])}

        assert Snakepit.execute(:to_xml, [records, []], pool: pool) ==
                 {:ok, Snakepit.Marc.to_xml(records, [])}
      end

      test "an unknown command is a clear error", %{pool: pool} do
        assert {:error, %Snakepit.Error{reason: :unsupported_command, message: message}} =
                 Snakepit.execute(:frobnicate, [1], pool: pool)

        assert message =~ ":frobnicate"
      end

      test "bad arguments are an error, not a crash", %{pool: pool} do
        assert {:error, %Snakepit.Error{reason: :invalid_arguments}} =
                 Snakepit.execute(:parse, ["x", [mode: :sloppy]], pool: pool)

        assert {:error, %Snakepit.Error{}} = Snakepit.execute(:count, [:not_binary], pool: pool)

        assert {:error, %Snakepit.Error{reason: :invalid_arguments}} =
                 Snakepit.execute(:count, ["x", :not_keyword], pool: pool)

        assert {:ok, 1} = Snakepit.execute(:ping, [1], pool: pool)
        assert status!(pool).workers |> length() == 2
      end

      test "a raising function becomes an error and the worker survives", %{pool: pool} do
        pids = worker_pids(pool)

        assert {:error, %Snakepit.Error{reason: :exception}} =
                 Snakepit.Pool.run(pool, fn -> raise "boom" end)

        assert {:ok, :fine} = Snakepit.Pool.run(pool, fn -> :fine end)
        assert worker_pids(pool) == pids
      end

      test "run/3 takes a {command, args} request too", %{pool: pool} do
        assert Snakepit.Pool.run(pool, {:ping, [:x]}, 1000) == {:ok, :x}
      end

      test "capacity and load are reported", %{pool: pool} do
        expected = if unquote(profile) == :thread, do: 4, else: 2
        status = status!(pool)
        assert status.capacity == expected
        assert status.load == 0
      end

      test "memory is reported per worker", %{pool: pool} do
        ref = Snakepit.Pool.Ref.lookup(pool)

        for w <- Snakepit.Pool.Manager.workers(ref.manager) do
          meta = ref.profile.get_metadata(w.handle)
          assert meta.memory > 0
          assert meta.memory == meta.process_memory + meta.native_bytes
        end
      end
    end
  end

  defmodule Stuck do
    @moduledoc false
    use GenServer
    @impl true
    def init(state), do: {:ok, state}
    @impl true
    def handle_info(:block, state), do: {:noreply, Process.sleep(:infinity) || state}
  end

  test "stop_process kills a worker stuck in a request once the timeout passes" do
    {:ok, stuck} = GenServer.start(Stuck, nil)
    send(stuck, :block)
    mref = Process.monitor(stuck)
    assert Snakepit.WorkerProfile.stop_process(stuck, 50) == :ok
    assert_receive {:DOWN, ^mref, :process, ^stuck, :killed}, 1000
  end
end
