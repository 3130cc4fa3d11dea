defmodule Snakepit.Marc.StreamSourcesTest do
  # Devices, FIFOs, per-record caps and how streams end. Counts the VM's native threads:
  # nothing else may run meanwhile.
  use ExUnit.Case, async: false

  alias Snakepit.Marc
  alias Snakepit.Marc.{ParseError, Record}
  alias Snakepit.Test.Corpus
  import Snakepit.Test.OsResources

  @bib "real/loc_bibliographic.mrc"

  setup do
    assert settles?(fn -> native_threads() == 0 end)
    :ok
  end

  # Resident memory of the whole VM (BEAM heaps and native allocations alike), in bytes.
  defp rss do
    "/proc/self/status"
    |> File.read!()
    |> String.split("\n")
    |> Enum.find_value(fn
      "VmRSS:" <> kb -> kb |> String.trim() |> String.trim_trailing(" kB") |> String.to_integer()
      _ -> nil
    end)
    |> Kernel.*(1024)
  end

  defp mkfifo(context, ext) do
    path = tmp_path(context, ext)
    {_, 0} = System.cmd("mkfifo", [path])
    path
  end

  # A writer that holds the FIFO open until closed. Opens once the stream has opened the
  # FIFO for reading.
  defp open_writer(fifo), do: File.open!(fifo, [:write, :raw, :binary])

  defp write!(writer, data), do: :ok = :file.write(writer, data)

  # Streams `source` in a new process that reports each item to the test.
  defp consume(source, opts) do
    parent = self()

    spawn(fn ->
      try do
        source
        |> Marc.stream(opts)
        |> Enum.each(&send(parent, {:item, &1}))

        send(parent, :done)
      rescue
        e -> send(parent, {:raised, e})
      end
    end)
  end

  defp recv_items(0), do: []

  defp recv_items(n) do
    receive do
      {:item, item} -> [item | recv_items(n - 1)]
    after
      10_000 -> flunk("only got #{inspect(n)} items fewer than expected")
    end
  end

  describe "/dev/zero" do
    # Unbounded on code without the fix: not to be run there.
    @tag :unbounded_before
    test "take(1) returns at once with an error item, or raises, in flat memory" do
      before = rss()

      assert [{:error, %ParseError{kind: :garbage, record_index: 0, byte_offset: 0}}] =
               Marc.stream("/dev/zero", mode: :permissive) |> Enum.take(1)

      assert_raise ParseError, fn -> Marc.stream("/dev/zero") |> Enum.take(1) end

      # As MARCXML it is one endless run of text: stopped at the record cap.
      assert_raise ParseError, ~r/max_record_bytes/, fn ->
        Marc.stream("/dev/zero", format: :xml, max_record_bytes: 1_048_576) |> Enum.take(1)
      end

      assert rss() - before < 64 * 1024 * 1024
      assert settles?(fn -> native_threads() == 0 end)
    end
  end

  describe "FIFOs" do
    test "records arrive while the writer is still open, and the stream ends when it leaves",
         context do
      fifo = mkfifo(context.test, ".mrc")
      bytes = Corpus.read!(@bib)
      {:ok, records} = Marc.parse(bytes)
      first = records |> Enum.take(3) |> Enum.map(&Record.title/1)

      consume(fifo, batch_size: 1)
      writer = open_writer(fifo)
      # Three records and a part of the fourth; the writer stays open.
      three = records |> Enum.take(3) |> Marc.encode() |> IO.iodata_to_binary()

      write!(
        writer,
        three <> binary_part(IO.iodata_to_binary(Marc.encode(Enum.at(records, 3))), 0, 100)
      )

      assert first == Enum.map(recv_items(3), &Record.title/1)
      refute_received :done

      File.close(writer)
      assert_receive {:raised, %ParseError{kind: :truncated_record, record_index: 3}}, 10_000
    end

    test "an unknown extension is sniffed without losing a byte, on the reader thread",
         context do
      fifo = mkfifo(context.test, ".fifo")
      {:ok, records} = Marc.parse(Corpus.read!(@bib))
      some = Enum.take(records, 5)
      xml = "\n  " <> Marc.to_xml(some)

      consume(fifo, batch_size: 1)
      writer = open_writer(fifo)
      # The first bytes alone, then the rest: the sniff reads ahead and must replay them.
      write!(writer, binary_part(xml, 0, 3))
      Process.sleep(50)
      write!(writer, binary_part(xml, 3, byte_size(xml) - 3))

      assert Enum.map(some, &Record.title/1) == Enum.map(recv_items(5), &Record.title/1)
      File.close(writer)
      assert_receive :done, 10_000
    end

    test "a consumer killed inside an endless MARCXML record leaves no reader behind",
         context do
      fifo = mkfifo(context.test, ".xml")
      pid = consume(fifo, max_record_bytes: 1024 * 1024 * 1024)
      writer = open_writer(fifo)

      write!(
        writer,
        ~s(<collection><record><leader>00000nam a2200000 a 4500</leader>) <>
          ~s(<datafield tag="245" ind1="1" ind2="0">) <>
          String.duplicate(~s(<subfield code="a">x</subfield>), 10_000)
      )

      assert settles?(fn -> native_threads() > 0 end)
      Process.exit(pid, :kill)

      # The destructor does not wait for the reader, blocked on a silent writer; the
      # reader notices the close by itself and ends while the writer is still there.
      assert settles?(fn -> native_threads() == 0 end)
      File.close(writer)
    end
  end

  describe "record caps" do
    test "a MARCXML text node over max_record_bytes is a typed error naming its record" do
      {:ok, [record | _]} = Marc.parse(Corpus.read!(@bib))
      one = Marc.to_xml([record])
      [head, tail] = String.split(one, "</collection>")
      big = ~s(<record><leader>00000nam a2200000 a 4500</leader><controlfield tag="001">)
      doc = head <> big <> String.duplicate("x", 3 * 1024 * 1024) <> "</controlfield></record>"
      doc = doc <> "</collection>" <> tail
      offset = byte_size(head)

      for source <- [doc, [doc]] do
        assert [%Record{}, {:error, error}] =
                 Marc.stream(source, mode: :permissive, max_record_bytes: 1_048_576)
                 |> Enum.to_list()

        assert %ParseError{kind: :too_large, record_index: 1, byte_offset: ^offset} = error
        assert error.detail =~ "max_record_bytes"
      end
    end

    @tag :unbounded_before
    test "an endless <record> from an enumerable errors out at the cap" do
      head =
        ~s(<collection><record><leader>00000nam a2200000 a 4500</leader>) <>
          ~s(<datafield tag="245" ind1="1" ind2="0">)

      filler = String.duplicate(~s(<subfield code="a">x</subfield>), 1000)
      endless = Stream.concat([head], Stream.repeatedly(fn -> filler end))

      error =
        assert_raise ParseError, fn ->
          Marc.stream(endless, max_record_bytes: 2 * 1024 * 1024) |> Enum.to_list()
        end

      assert %ParseError{kind: :too_large, record_index: 0, byte_offset: 12} = error
    end

    test "the cap is an option validated like the others" do
      for bad <- [0, 1023, -1, :big, 2 * 1024 * 1024 * 1024] do
        assert_raise ArgumentError, ~r/max_record_bytes.*got: /, fn ->
          Marc.stream("x.xml", max_record_bytes: bad)
        end
      end
    end
  end

  describe "how streams end" do
    # A reader thread that panics while the consumer waits: with its wake-up (the drop
    # guard's) and without (the stream looks again after a bounded wait).
    for notify <- [true, false] do
      test "a reader thread that dies is a typed error, never a hang (wake-up: #{notify})" do
        notify = unquote(notify)
        open = fn -> Snakepit.Native.debug_stream_open_panicking(200, notify) end

        task =
          Task.async(fn ->
            try do
              Snakepit.Marc.Stream.from_native(open) |> Enum.to_list()
            rescue
              e -> {:raised, e}
            end
          end)

        assert {:raised, %ParseError{kind: :io, detail: detail}} = Task.await(task, 30_000)
        assert detail =~ "injected reader failure"
        assert settles?(fn -> native_threads() == 0 end)
      end
    end
  end
end
