defmodule Snakepit.Marc do
  @moduledoc """
  Read, query and write MARC 21 / ISO 2709 records at native speed.

      iex> {:ok, [record | _]} = Snakepit.Marc.parse(File.read!("../shared/corpus/formats/pymarc_test.dat"))
      iex> record["245"]["a"]
      "ActivePerl with ASP and ADO /"
      iex> {Snakepit.Marc.Record.author(record), Snakepit.Marc.Record.isbn(record)}
      {"Martinsson, Tobias,", "0471383147"}

  Parsing runs in native code on a dirty CPU scheduler: it never holds a normal scheduler.
  Each record is copied once into its own binary and every value is a sub-binary of it, so a
  record you keep pins only its own bytes, never the whole input.

  ## Bad records

  Every bad record becomes a `Snakepit.Marc.ParseError` that says which record, which byte
  and what was wrong. The `:mode` option says what happens next:

      iex> bad = File.read!("../shared/corpus/bad/pymarc_bad_records.mrc")
      iex> {:error, %Snakepit.Marc.ParseError{kind: :base_address_out_of_range, record_index: 1}} =
      ...>   Snakepit.Marc.parse(bad)
      iex> {:ok, items} = Snakepit.Marc.parse(bad, mode: :permissive)
      iex> Enum.map(items, fn {:error, e} -> e.kind; %Snakepit.Marc.Record{} -> :ok end)
      [:ok, :base_address_out_of_range, :base_address_out_of_range, :invalid_directory_length,
       :invalid_directory_entry, :invalid_base_address, :no_fields, :ok, :truncated_record]
      iex> Snakepit.Marc.parse(bad, mode: :skip, report: true) |> then(fn {:ok, rs, r} -> {length(rs), r} end)
      {2, %{skipped: 7}}
  """

  alias Snakepit.Marc.{Encoder, Options, ParseError, Record}
  alias Snakepit.Native

  @typedoc "A record, or in `:permissive` mode the error standing in for a bad one."
  @type item :: Record.t() | {:error, ParseError.t()}

  @doc """
  Parses every record in `binary`.

  Returns `{:ok, records}` or, in `:strict` mode, `{:error, %Snakepit.Marc.ParseError{}}`
  for the first bad record.

  ## Options

  #{Options.docs(:read)}
  """
  @spec parse(binary, keyword) ::
          {:ok, [item]} | {:ok, [item], %{skipped: non_neg_integer}} | {:error, ParseError.t()}
  def parse(binary, opts \\ [])

  def parse(binary, opts) when is_binary(binary) do
    config = Options.validate!(opts, :read)

    case Native.parse_binary(binary, config, 0, 0) do
      {:ok, items, skipped} when config.report -> {:ok, items, %{skipped: skipped}}
      {:ok, items, _skipped} -> {:ok, items}
      {:error, %ParseError{}} = error -> error
    end
  end

  def parse(other, _opts),
    do: raise(ArgumentError, "parse/2 expects a binary of ISO 2709 data, got: #{inspect(other)}")

  @doc """
  Like `parse/2`, but returns the records and raises `Snakepit.Marc.ParseError` on a bad one
  in `:strict` mode.
  """
  @spec parse!(binary, keyword) :: [item]
  def parse!(binary, opts \\ []) do
    case parse(binary, Keyword.delete(opts, :report)) do
      {:ok, items} -> items
      {:error, error} -> raise error
    end
  end

  @doc """
  Streams the records of `source`, lazily, with bounded memory whatever its size.

  `source` is #{Snakepit.Marc.Source.accepted()}. A file path is read by native threads
  with no BEAM involvement: they read, frame and parse ahead of the consumer into a bounded
  buffer, and a slow consumer slows them down (backpressure). Other sources are pulled a
  chunk at a time as the stream is consumed; chunk boundaries may fall anywhere.

  Halting early (`Enum.take/2`) stops the native threads and closes the file. Errors carry
  the absolute byte offset in the source. In `:strict` mode the stream emits the records
  before the first bad one, then raises `Snakepit.Marc.ParseError`.

      iex> "../shared/corpus/real/loc_bibliographic.mrc"
      ...> |> Snakepit.Marc.stream()
      ...> |> Enum.count()
      386

      iex> File.stream!("../shared/corpus/bad/pymarc_bad_records.mrc", [], 100)
      ...> |> Snakepit.Marc.stream(mode: :permissive)
      ...> |> Enum.map(fn {:error, e} -> {e.kind, e.byte_offset}; _record -> :ok end)
      ...> |> Enum.take(3)
      [:ok, {:base_address_out_of_range, 139}, {:base_address_out_of_range, 266}]

  ## Through a pool

  With `pool: name` (a running `Snakepit.Pool`), the source is framed here and each batch is
  parsed by one of the pool's workers, under its capacity and with its telemetry; records
  come back to the consuming process in order, and the modes behave as without a pool.
  `:timeout` (ms per batch, default `:infinity`) bounds each batch's wait and run.

  ## Options

  #{Options.docs(:stream)}
  """
  @spec stream(term, keyword) :: Enumerable.t()
  def stream(source, opts \\ []), do: Snakepit.Marc.Stream.new(source, opts)

  @doc """
  Cuts `source` into `Snakepit.Marc.Batch`es of whole, unparsed records (framing only),
  for parsing in other processes with `parse_batch/2`. Takes the same sources and options as
  `stream/2`; `:batch_size` and `:max_batch_bytes` size the batches.

      iex> "../shared/corpus/real/loc_bibliographic.mrc"
      ...> |> Snakepit.Marc.batches(batch_size: 200)
      ...> |> Enum.map(& &1.count)
      [200, 186]
  """
  @spec batches(term, keyword) :: Enumerable.t()
  def batches(source, opts \\ []), do: Snakepit.Marc.Stream.batches(source, opts)

  @doc """
  Parses a `Snakepit.Marc.Batch` (in any process). Takes `parse/2`'s options; errors
  carry the batch's absolute offsets and record indices.
  """
  @spec parse_batch(Snakepit.Marc.Batch.t(), keyword) ::
          {:ok, [item]} | {:ok, [item], %{skipped: non_neg_integer}} | {:error, ParseError.t()}
  def parse_batch(%Snakepit.Marc.Batch{} = batch, opts \\ []) do
    config = Options.validate!(opts, :read)

    case Native.parse_binary(batch.data, config, batch.base_offset, batch.first_index) do
      {:ok, items, skipped} when config.report -> {:ok, items, %{skipped: skipped}}
      {:ok, items, _skipped} -> {:ok, items}
      {:error, %ParseError{}} = error -> error
    end
  end

  @doc """
  Applies `fun` to every record of `source` in parallel, in several processes at once, and
  returns a lazy stream of the results (in source order unless `ordered: false`).

  Native code only frames the source; each batch is parsed *and* handled in a worker
  process, so building records, running `fun` and garbage collection all scale with the
  workers. Only `fun`'s results are copied back: return what you need, not whole records.

  In `:permissive` mode `fun` also receives `{:error, %Snakepit.Marc.ParseError{}}` items;
  in `:strict` mode the first bad record raises in the caller.

      iex> "../shared/corpus/synthetic/realistic_2000.mrc"
      ...> |> Snakepit.Marc.map(&Snakepit.Marc.Record.title/1, workers: 2)
      ...> |> Enum.count()
      2000

  ## Options

    * `:workers` - processes working at once (default: schedulers online).
    * `:ordered` - keep source order (default `true`).
    * `:timeout` - per batch, in ms (default `:infinity`).
    * `:pool` - run each batch in a worker of this `Snakepit.Pool` (under its capacity).
    * plus the options of `stream/2` and `parse/2`.
  """
  @spec map(term, (item -> result), keyword) :: Enumerable.t() when result: term
  def map(source, fun, opts \\ []), do: Snakepit.Marc.FanOut.map(source, fun, opts)

  @doc """
  Runs `fun` on every record of `source` in parallel for its side effects; returns `:ok`.
  Same options as `map/3` (order is not kept).
  """
  @spec each(term, (item -> term), keyword) :: :ok
  def each(source, fun, opts \\ []) do
    source
    |> Snakepit.Marc.FanOut.map(
      fn item -> fun.(item) && nil end,
      Keyword.put(opts, :ordered, false)
    )
    |> Stream.run()
  end

  @doc """
  Encodes one record or a list of records as ISO 2709 iodata. Record length, base address
  and directory are recomputed, so records built or edited in Elixir encode correctly.
  Values are referenced, not copied. Raises `ArgumentError` on a malformed record (a leader
  that is not 24 bytes, a field over 9,999 bytes, a record over 99,999 bytes).

      iex> bytes = File.read!("../shared/corpus/formats/pymarc_one.dat")
      iex> bytes |> Snakepit.Marc.parse!() |> Snakepit.Marc.encode() |> IO.iodata_to_binary() == bytes
      true
  """
  @spec encode(Record.t() | [Record.t()]) :: iodata
  def encode(%Record{} = record), do: Encoder.encode(record)
  def encode(records) when is_list(records), do: Enum.map(records, &Encoder.encode/1)

  @doc """
  Counts records without building them: `%{records: good, errors: bad}`.

      iex> Snakepit.Marc.count(File.read!("../shared/corpus/bad/pymarc_bad_records.mrc"))
      %{records: 2, errors: 7}
  """
  @spec count(binary, keyword) :: %{records: non_neg_integer, errors: non_neg_integer}
  def count(binary, opts \\ []) when is_binary(binary) do
    {good, bad} = Native.count_binary(binary, Keyword.get(opts, :validate_utf8, true))
    %{records: good, errors: bad}
  end

  @doc """
  Every error in `binary`, without building records: `[]` when all records are good.
  """
  @spec validate(binary, keyword) :: [ParseError.t()]
  def validate(binary, opts \\ []) when is_binary(binary),
    do: Native.validate_binary(binary, Options.validate!(opts, :read))

  @doc """
  Record boundaries as `{offset, length}` pairs, one per framed record (bad ones included,
  skipped garbage not).

      iex> Snakepit.Marc.scan(File.read!("../shared/corpus/formats/pymarc_test.dat")) |> Enum.take(2)
      [{0, 755}, {755, 647}]
  """
  @spec scan(binary) :: [{non_neg_integer, pos_integer}]
  def scan(binary) when is_binary(binary), do: Native.scan_binary(binary)
end
