defmodule Snakepit.Marc do
  @moduledoc """
  Read, query and write MARC 21 / ISO 2709 records at native speed.

      iex> {:ok, [record | _]} = Snakepit.Marc.parse(File.read!("../shared/corpus/formats/pymarc_test.dat"))
      iex> record["245"]["a"]
      "ActivePerl with ASP and ADO /"
      iex> {Snakepit.Marc.Record.author(record), Snakepit.Marc.Record.isbn(record)}
      {"Martinsson, Tobias,", "0471383147"}

  Parsing runs in native code and never holds a normal scheduler for long: a small input (a
  batch's worth, up to about 10,000 fields and subfields) is built on the caller's scheduler
  in well under a millisecond, anything larger on a dirty CPU scheduler.
  Each record is copied once, into a binary of at most 16 KB it shares with its neighbours
  in the read (a record of 16 KB or more has its own), and every value is a sub-binary of
  it: a record you keep, or a value of one, pins at most 16 KB, never the whole input.
  `:binary.copy/1` a value to keep exactly its bytes.

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

  alias Snakepit.Marc.{Encoder, LazyRecord, NativeResult, Options, ParseError, Record}
  alias Snakepit.Native

  @typedoc """
  A record (a `Snakepit.Marc.LazyRecord` with `records: :lazy`), or in `:permissive` mode
  the error standing in for a bad one.
  """
  @type item :: Record.t() | LazyRecord.t() | {:error, ParseError.t()}

  @doc """
  Parses every record in `binary`.

  Returns `{:ok, records}` or, in `:strict` mode, `{:error, %Snakepit.Marc.ParseError{}}`
  for the first bad record.

  `binary` is MARC data, not a file name: read a file with `File.read!/1` first, or stream
  it with `stream/2`, which takes paths. A short binary that holds no record terminator and
  names an existing file, or ends in `.mrc` (or another MARC, JSON or XML extension), raises
  `ArgumentError` saying so, instead of coming back as one bad record.

  ## Options

  #{Options.docs(:read)}
  """
  @spec parse(binary, keyword) ::
          {:ok, [item]} | {:ok, [item], %{skipped: non_neg_integer}} | {:error, ParseError.t()}
  def parse(binary, opts \\ [])

  def parse(binary, opts) when is_binary(binary) do
    config = Options.validate!(opts, :read)
    reject_path!(binary, "parse/2")

    binary |> parse_native(config, 0, 0) |> NativeResult.read(config)
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

      iex> File.open!("../shared/corpus/bad/pymarc_bad_records.mrc", fn device ->
      ...>   IO.binstream(device, 100)
      ...>   |> Snakepit.Marc.stream(mode: :permissive)
      ...>   |> Enum.map(fn {:error, e} -> {e.kind, e.byte_offset}; _record -> :ok end)
      ...>   |> Enum.take(3)
      ...> end)
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
  A stream of one map per record, `%{name => [String.t()]}`, of the values that `specs`
  select: a keyword list or map of `name => spec string` in traject's `extract_marc` syntax,
  or a spec compiled with `Snakepit.Marc.Spec.compile!/2` (compile once, reuse for a job).

  Takes every source and read option `stream/2` takes, plus the extraction options of
  `Snakepit.Marc.Spec` (for specs not yet compiled). Bad records follow `:mode` as
  everywhere: in `:permissive`, `{:error, %Snakepit.Marc.ParseError{}}` takes the place of a
  bad record's map. ISO 2709 is read natively in batches and only the selected values ever
  become terms; memory stays flat on any file size.

  Also takes `pool:`, `workers:`, `ordered:` and `timeout:` as `map/3`. A small ISO 2709
  input (a binary, or a regular file of at most 4 MiB) is read whole and extracted on every
  core at once: with `workers:` alone it is not fanned out to processes (unless a
  `:timeout` is given), and with a pool on this node it is one `:extract` request, which on
  a `:thread` pool runs in the calling process with the worker's threads doing the native
  work.

      iex> "../shared/corpus/real/loc_bibliographic.mrc"
      ...> |> Snakepit.Marc.extract(title: "245a", lang: "008[35-37]")
      ...> |> Enum.take(1)
      [%{lang: ["spa"], title: ["Atlas ="]}]
  """
  @spec extract(term, keyword | map | Snakepit.Marc.Spec.t(), keyword) :: Enumerable.t()
  def extract(source, specs, opts \\ []), do: Snakepit.Marc.Extract.stream(source, specs, opts)

  @doc """
  Validates one record (a `Snakepit.Marc.Record` or `Snakepit.Marc.LazyRecord`) against
  the MARC 21 rules and a rule set, natively: a list of `Snakepit.Marc.Issue`s in the order
  found, `[]` for a clean record. Never stops at the first problem.

      iex> alias Snakepit.Marc.{Field, Record}
      iex> record = %Record{
      ...>   leader: "00000nam a2200000 a 4500",
      ...>   fields: [
      ...>     Field.control("008", "850101s1985    nyu           000 0 eng d"),
      ...>     Field.data("245", "1", "0", [{"a", "The Perl book"}])
      ...>   ]
      ...> }
      iex> record |> Snakepit.Marc.lint() |> Enum.map(&{&1.code, &1.message})
      [{"title.nonfiling", ~s(245 $a starts with the article "the", which with what follows it is 4 nonfiling characters, but indicator 2 is 0)}]

  See `docs/validation.md` for every code and the rule-set format.

  ## Options

  #{Options.docs(:lint)}
  """
  @spec lint(Snakepit.Marc.Record.t() | Snakepit.Marc.LazyRecord.t(), keyword) :: [
          Snakepit.Marc.Issue.t()
        ]
  def lint(record, opts \\ []), do: Snakepit.Marc.Lint.record(record, opts)

  @doc """
  A stream of `{record_index, byte_offset, issues}`, one per record of `source` (every
  source and format `stream/2` reads), `issues` a list of `Snakepit.Marc.Issue`s. A record
  whose structure is broken is an entry too, its one issue the parse error
  (`"record.invalid"`), so one pass reports everything. ISO 2709 is parsed and linted
  natively in batches, in parallel; only issues become terms. `byte_offset` is the
  record's offset in the source (`nil` for MARC-in-JSON and MARCXML records).

      iex> "../shared/corpus/real/loc_bibliographic.mrc"
      ...> |> Snakepit.Marc.lint_stream(only: ["field.missing"])
      ...> |> Enum.count(fn {_index, _offset, issues} -> issues != [] end)
      0

  Takes the options of `lint/2`, the source and read options of `stream/2` (but `:mode`
  and `:records`), and `pool:`, `workers:`, `ordered:` and `timeout:` as `map/3` (with
  `pool:`, each batch is a `:lint` command of the pool).
  """
  @spec lint_stream(term, keyword) :: Enumerable.t()
  def lint_stream(source, opts \\ []), do: Snakepit.Marc.Lint.stream(source, opts)

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

    batch.data
    |> parse_native(config, batch.base_offset, batch.first_index)
    |> NativeResult.read(config)
  end

  # Inputs of up to @light_bytes are tried on the caller's scheduler first: the NIF builds
  # them there when they hold few enough fields to take about a millisecond, else answers
  # :dirty. Larger inputs go straight to a dirty CPU scheduler.
  @light_bytes 262_144

  defp parse_native(data, config, base_offset, first_index)
       when byte_size(data) <= @light_bytes do
    case Native.parse_binary_light(data, config, base_offset, first_index) do
      :dirty -> Native.parse_binary(data, config, base_offset, first_index)
      result -> result
    end
  end

  defp parse_native(data, config, base_offset, first_index),
    do: Native.parse_binary(data, config, base_offset, first_index)

  @doc """
  Applies `fun` to every record of `source` in parallel, in several processes at once, and
  returns a lazy stream of the results (in source order unless `ordered: false`).

  Native code only frames the source; each batch is parsed *and* handled in a worker
  process, so building records, running `fun` and garbage collection all scale with the
  workers. Only `fun`'s results are copied back: return what you need, not whole records.

  In `:permissive` mode `fun` also receives `{:error, %Snakepit.Marc.ParseError{}}` items;
  in `:strict` mode the results of the records before the first bad one arrive (those of
  its own batch included), then it raises in the caller.

      iex> "../shared/corpus/synthetic/realistic_2000.mrc"
      ...> |> Snakepit.Marc.map(&Snakepit.Marc.Record.title/1, workers: 2)
      ...> |> Enum.count()
      2000

  ## Options

  #{Options.docs(:fan_out)}

  plus the options of `stream/2` and `parse/2`.
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
  Encoding is native, by the same encoder as the JSON and XML readers use, and it either
  gives bytes that `parse/2` reads back to the same record (leader/00-04 and 12-16 aside)
  or raises; a `LazyRecord` is checked and its bytes given as they are.

  Raises `Snakepit.Marc.ParseError` for a record that cannot be written, naming the record
  (`record_index`), the field, tag, subfield code and byte in `detail`:

  - `:invalid_value` - a value, indicator, code or leader holding 0x1D, 0x1E or 0x1F; a
    tag that is not three printable ASCII bytes; a control field (a binary `value`) whose
    tag is not 001-009, or a data field tagged 001-009; invalid UTF-8, or a non-ASCII
    indicator or code, under leader/09 `a`;
  - `:no_fields` - no fields; `:too_large` - a field over 9,999 or a record over 99,999
    bytes (unless `oversize: :zero_length`);
  - with `encoding: :marc8` and `unrepresentable: :error`, `:invalid_value` also for a
    character MARC-8 has no code for.

  Raises `ArgumentError` for terms of the wrong shape (not a record, a leader that is not a
  24-byte binary, a value that is neither a binary nor `nil`, a field with both a `value`
  and subfields or indicators, a subfield that is not `{one-byte code, binary}`).

      iex> bytes = File.read!("../shared/corpus/formats/pymarc_one.dat")
      iex> bytes |> Snakepit.Marc.parse!() |> Snakepit.Marc.encode() |> IO.iodata_to_binary() == bytes
      true
      iex> record = %Snakepit.Marc.Record{
      ...>   leader: "00000nam a2200000 a 4500",
      ...>   fields: [%Snakepit.Marc.Field{tag: "245", ind1: " ", ind2: " ", subfields: [{"a", "Title\x1FzINJECTED"}]}]
      ...> }
      iex> %Snakepit.Marc.ParseError{kind: :invalid_value} = catch_error(Snakepit.Marc.encode(record))

  With `encoding: :marc8`, UTF-8 records are written as MARC-8 (see "Writing MARC-8" in
  docs/formats.md); `oversize: :zero_length` writes records and fields too large for ISO
  2709's digits with zero lengths instead of raising:

      iex> record = %Snakepit.Marc.Record{
      ...>   leader: "00000nam a2200000 a 4500",
      ...>   fields: [Snakepit.Marc.Field.data("245", [{"a", "Café ☃"}])]
      ...> }
      iex> marc8 = record |> Snakepit.Marc.encode(encoding: :marc8) |> IO.iodata_to_binary()
      iex> marc8 =~ "Caf\\xE2e &#x2603;"
      true
      iex> {:ok, [back]} = Snakepit.Marc.parse(marc8, decode_ncrs: true, normalize: :nfc)
      iex> back["245"]["a"]
      "Café ☃"

  ## Options

  #{Options.docs(:encode)}
  """
  @spec encode(record | [record], keyword) :: iodata when record: Record.t() | LazyRecord.t()
  def encode(records, opts \\ []), do: Encoder.encode(records, opts)

  @doc """
  `encode/2` as a stream: one binary chunk per batch of records, each written by one native
  call, for writing files of any size with flat memory (`mix snakepit.convert` uses it).
  Takes `encode/2`'s options; with `mode: :skip` a record that cannot be written is left out.

      iex> record = %Snakepit.Marc.Record{
      ...>   leader: "00000nam a2200000 a 4500",
      ...>   fields: [Snakepit.Marc.Field.data("245", [{"a", "Война и мир"}])]
      ...> }
      iex> [record, record] |> Snakepit.Marc.iso_stream(encoding: :marc8) |> Enum.join() |> Snakepit.Marc.count()
      %{records: 2, errors: 0}

  ## Options

  #{Options.docs(:iso_stream)}
  """
  @spec iso_stream(Enumerable.t(), keyword) :: Enumerable.t()
  def iso_stream(records, opts \\ []), do: Encoder.iso_stream(records, opts)

  @doc """
  Counts records without building them: `%{records: good, errors: bad}`.

      iex> Snakepit.Marc.count(File.read!("../shared/corpus/bad/pymarc_bad_records.mrc"))
      %{records: 2, errors: 7}

  `binary` is MARC data, as for `parse/2` (a path raises `ArgumentError`: see there).

  ## Options

  #{Options.docs(:count)}
  """
  @spec count(binary, keyword) :: %{records: non_neg_integer, errors: non_neg_integer}
  def count(binary, opts \\ []) when is_binary(binary) do
    config = Options.validate!(opts, :count)
    reject_path!(binary, "count/2")
    {good, bad} = Native.count_binary(binary, config.validate_utf8)
    %{records: good, errors: bad}
  end

  @doc """
  Every error in `binary`, without building records: `[]` when all records are good.
  Takes `parse/2`'s options; a path raises `ArgumentError`, as in `parse/2`.
  At most 10,000 are listed; past that, a last `:too_many_errors` error counts the rest and
  points at the first of them.
  """
  @spec validate(binary, keyword) :: [ParseError.t()]
  def validate(binary, opts \\ []) when is_binary(binary) do
    config = Options.validate!(opts, :read)
    reject_path!(binary, "validate/2")
    Native.validate_binary(binary, config)
  end

  @doc """
  How the records of `source` (any source of `stream/2`) are encoded, by what leader/09
  declares and what the bytes are: `%{records: n, errors: n, counts: %{{declared, detected}
  => n}}`, each of `declared` and `detected` `:utf8` or `:marc8`. Records are read with
  `encoding: :auto` (see the Recovery section of docs/formats.md); `errors` counts those
  that stay unreadable.

      iex> Snakepit.Marc.encoding_report("../shared/corpus/marc8/pymarc_marc.dat")
      %{records: 20, errors: 0, counts: %{{:marc8, :marc8} => 20}}

  ## Options

  #{Options.docs(:encoding_report)}
  """
  @spec encoding_report(term, keyword) :: %{
          records: non_neg_integer,
          errors: non_neg_integer,
          counts: %{{:utf8 | :marc8, :utf8 | :marc8} => pos_integer}
        }
  def encoding_report(source, opts \\ []),
    do: Snakepit.Marc.Recovery.encoding_report(source, opts)

  # A short binary with no record terminator (0x1D) cannot hold a record; when it also names
  # a file, or ends like one, it is a path given where data was expected.
  @path_like_bytes 4096
  @path_extensions ~w(.mrc .marc .dat .iso .mrk .xml .json .jsonl .ndjson)

  @doc false
  # Also called for the :thread profile's native commands, so both profiles say the same.
  def reject_path!(binary, fun) do
    if path_like?(binary) do
      raise ArgumentError,
            "#{fun} takes MARC data, not a file path, got: #{inspect(binary)}; did you mean " <>
              "`stream/2`, which takes paths, or File.read!/1 first?"
    end
  end

  defp path_like?(binary) do
    byte_size(binary) in 1..@path_like_bytes and not String.contains?(binary, <<0x1D>>) and
      String.valid?(binary) and not String.contains?(binary, <<0>>) and
      (String.downcase(Path.extname(binary)) in @path_extensions or File.exists?(binary))
  end

  @doc """
  Record boundaries as `{offset, length}` pairs, one per framed record (bad ones included,
  skipped garbage not).

      iex> Snakepit.Marc.scan(File.read!("../shared/corpus/formats/pymarc_test.dat")) |> Enum.take(2)
      [{0, 755}, {755, 647}]
  """
  @spec scan(binary) :: [{non_neg_integer, pos_integer}]
  def scan(binary) when is_binary(binary), do: Native.scan_binary(binary)

  @doc """
  Writes records as MARC-in-JSON (the shape pymarc reads and writes): one record gives one
  JSON object, a list gives a JSON array (one record per line), and `lines: true` gives
  JSON Lines (each record one line ending in a newline).

  Runs in native code on a dirty CPU scheduler. The leader is written as stored. Bytes
  that are not UTF-8 in a record that is not UTF-8 (a MARC-8 record read with
  `to_unicode: false`) become U+FFFD. Records are checked as by `encode/1` (sizes aside):
  one that cannot be written raises `Snakepit.Marc.ParseError` (`:invalid_value`,
  `:no_fields`); a malformed term (a leader that is not 24 bytes, a tag that is not 3
  bytes, an indicator or subfield code that is not one byte) raises `ArgumentError`
  naming the record and field. See docs/formats.md.

      iex> record = %Snakepit.Marc.Record{
      ...>   leader: "00000nam a2200000 a 4500",
      ...>   fields: [
      ...>     Snakepit.Marc.Field.control("001", "42"),
      ...>     Snakepit.Marc.Field.data("245", "1", "0", [{"a", "Moby Dick /"}])
      ...>   ]
      ...> }
      iex> Snakepit.Marc.to_json(record)
      ~s({"leader":"00000nam a2200000 a 4500","fields":[{"001":"42"},{"245":{"ind1":"1","ind2":"0","subfields":[{"a":"Moby Dick /"}]}}]})
      iex> [record, record] |> Snakepit.Marc.to_json(lines: true) |> String.split("\\n", trim: true) |> length()
      2

  ## Options

  #{Options.docs(:to_json)}
  """
  @spec to_json(Record.t() | [Record.t()], keyword) :: binary
  def to_json(records, opts \\ []), do: Snakepit.Marc.Formats.to_json(records, opts)

  @doc """
  Reads MARC-in-JSON: a JSON array of records, a single record object, or JSON Lines (the
  layout is detected). Returns `{:ok, records}` like `parse/2`, honouring `:mode` and
  `:report`; a bad record is `%Snakepit.Marc.ParseError{kind: :invalid_json}` (with its
  record index and byte offset), or `:too_large` when it cannot be encoded as ISO 2709.

  Each record is encoded to ISO 2709 in native code (so leader/00-04 and 12-16, the record
  length and base address, are recomputed) and built exactly like a parsed one, so
  `from_json(to_json(records)) == {:ok, records}` for records read from a file.

      iex> {:ok, [record]} = Snakepit.Marc.from_json(File.read!("../shared/corpus/formats/pymarc_one.json"))
      iex> record["245"]["a"]
      "ActivePerl with ASP and ADO /"
      iex> {:error, %Snakepit.Marc.ParseError{kind: :invalid_json, record_index: 1}} =
      ...>   Snakepit.Marc.from_json(~s({"leader":"00000nam a2200000 a 4500","fields":[{"001":"1"}]}\\n{"leader":"short"}))
      iex> {:ok, [%Snakepit.Marc.Record{}, {:error, %Snakepit.Marc.ParseError{kind: :invalid_json}}]} =
      ...>   Snakepit.Marc.from_json(~s([{"leader":"00000nam a2200000 a 4500","fields":[{"001":"1"}]},{"leader":1}]), mode: :permissive)

  ## Options

  #{Options.docs(:read)} (The MARC-8 options do not apply: JSON holds Unicode text.)
  """
  @spec from_json(binary, keyword) ::
          {:ok, [item]} | {:ok, [item], %{skipped: non_neg_integer}} | {:error, ParseError.t()}
  def from_json(binary, opts \\ []), do: Snakepit.Marc.Formats.from_json(binary, opts)

  @doc """
  Writes records as a MARCXML (slim schema) document: the XML declaration and a
  `<collection xmlns="http://www.loc.gov/MARC21/slim">` holding one `<record>` per record.
  Escaping is described in docs/formats.md. Records are checked like `to_json/2`; a
  character XML 1.0 cannot hold (a C0 control other than TAB, LF and CR; U+FFFE; U+FFFF)
  raises `Snakepit.Marc.ParseError` (`:invalid_value`) naming the field, code and byte.

      iex> record = %Snakepit.Marc.Record{
      ...>   leader: "00000nam a2200000 a 4500",
      ...>   fields: [Snakepit.Marc.Field.data("245", "1", "0", [{"a", "Tom & Jerry"}])]
      ...> }
      iex> xml = Snakepit.Marc.to_xml(record)
      iex> xml =~ ~s(<subfield code="a">Tom &amp; Jerry</subfield>)
      true
      iex> {:ok, [back]} = Snakepit.Marc.from_xml(xml)
      iex> back["245"]["a"]
      "Tom & Jerry"
  """
  @spec to_xml(Record.t() | [Record.t()], keyword) :: binary
  def to_xml(records, opts \\ []), do: Snakepit.Marc.Formats.to_xml(records, opts)

  @doc """
  Reads MARCXML: a `<collection>`, a single `<record>`, or records wrapped at any depth
  (OAI-PMH), prefixed (`marc:record`) or not. Returns `{:ok, records}` like `parse/2`,
  honouring `:mode`; a bad record is `%Snakepit.Marc.ParseError{kind: :invalid_xml}`.
  Records are built as `from_json/2` builds them (record length and base address recomputed).

  A `<!DOCTYPE>` is refused: no DTD is read and no entity is declared, expanded or fetched
  (no XXE, no billion laughs).

      iex> {:ok, records} = Snakepit.Marc.from_xml(File.read!("../shared/corpus/formats/pymarc_batch.xml"))
      iex> Enum.map(records, & &1["245"]["a"])
      ["The Great Ray Charles", "The White House"]
      iex> {:error, %Snakepit.Marc.ParseError{kind: :invalid_xml}} =
      ...>   Snakepit.Marc.from_xml(~s(<!DOCTYPE x [<!ENTITY e "boom">]><collection/>))

  ## Options

  #{Options.docs(:read)} (The MARC-8 options do not apply: XML holds Unicode text.)
  """
  @spec from_xml(binary, keyword) ::
          {:ok, [item]} | {:ok, [item], %{skipped: non_neg_integer}} | {:error, ParseError.t()}
  def from_xml(binary, opts \\ []), do: Snakepit.Marc.Formats.from_xml(binary, opts)

  @doc """
  A lazy stream of iodata chunks making one MARCXML document of `records` (any
  enumerable of records, e.g. `stream/2`'s): the declaration and `<collection>` first, then
  the records, written a batch at a time by native code, then `</collection>`. Memory stays
  flat whatever the size: write it with `Stream.into(File.stream!(path))` or
  `Enum.each(&IO.binwrite(device, &1))`.

      iex> path = Path.join(System.tmp_dir!(), "snakepit_doctest.xml")
      iex> "../shared/corpus/real/loc_bibliographic.mrc"
      ...> |> Snakepit.Marc.stream()
      ...> |> Snakepit.Marc.xml_stream()
      ...> |> Stream.into(File.stream!(path))
      ...> |> Stream.run()
      iex> path |> Snakepit.Marc.stream() |> Enum.count()
      386

  ## Options

  #{Options.docs(:xml_stream)}
  """
  @spec xml_stream(Enumerable.t(), keyword) :: Enumerable.t()
  def xml_stream(records, opts \\ []), do: Snakepit.Marc.Formats.xml_stream(records, opts)

  @doc """
  Like `xml_stream/2`, for MARC-in-JSON: a JSON array (`[`, records separated by `,` and a
  newline, `]`) or, with `lines: true`, JSON Lines.

      iex> [%Snakepit.Marc.Record{leader: "00000nam a2200000 a 4500", fields: [Snakepit.Marc.Field.control("001", "1")]}]
      ...> |> Snakepit.Marc.json_stream()
      ...> |> Enum.join()
      ~s([{"leader":"00000nam a2200000 a 4500","fields":[{"001":"1"}]}]\\n)

  ## Options

  #{Options.docs(:json_stream)}
  """
  @spec json_stream(Enumerable.t(), keyword) :: Enumerable.t()
  def json_stream(records, opts \\ []), do: Snakepit.Marc.Formats.json_stream(records, opts)

  # ---------------------------------------------------------------------------------------
  # MarcEdit's mnemonic format (.mrk) and the line dump: Snakepit.Marc.Mrk.
  # ---------------------------------------------------------------------------------------

  @doc """
  Writes records in MarcEdit's mnemonic format (`.mrk`, LC's MARCMaker), UTF-8 (`.mrk8`):
  one line a field, each record followed by a blank line. Blanks of the leader, control
  fields and indicators are `\\`; in values `$`, `{`, `}`, `\\` and control characters are
  written as MARCMaker mnemonics (`{dollar}`, `{lcub}`, `{rcub}`, `{bsol}`, `{esc}`, `{0A}`),
  so `from_mrk/2` reads every record back exactly. A MARC-8 record (leader/09 blank) is
  converted to UTF-8 (NFC) and written with leader/09 `a`. Records are checked like
  `to_json/2`. With `encoding: :marc8`, MARCMaker's MARC-8 `.mrk` instead: each record as
  `encode/2` writes it in MARC-8, every byte outside printable ASCII as its mnemonic
  (`{acute}e`, `{esc}(N`). See docs/formats.md.

      iex> record = %Snakepit.Marc.Record{
      ...>   leader: "00000nam a2200000 a 4500",
      ...>   fields: [
      ...>     Snakepit.Marc.Field.control("008", "010314s1999    fr"),
      ...>     Snakepit.Marc.Field.data("245", "1", " ", [{"a", "Prices in US$ /"}])
      ...>   ]
      ...> }
      iex> Snakepit.Marc.to_mrk(record)
      "=LDR  00000nam\\\\a2200000\\\\a\\\\4500\\n=008  010314s1999\\\\\\\\\\\\\\\\fr\\n=245  1\\\\$aPrices in US{dollar} /\\n\\n"

  ## Options

  #{Options.docs(:to_mrk)}
  """
  @spec to_mrk(Record.t() | [Record.t()], keyword) :: binary
  def to_mrk(records, opts \\ []), do: Snakepit.Marc.Mrk.to_mrk(records, opts)

  @doc """
  Reads MarcEdit's mnemonic format (`.mrk`, UTF-8). Returns `{:ok, records}` like
  `parse/2`, honouring `:mode` and `:report`. A bad line is a
  `%Snakepit.Marc.ParseError{kind: :invalid_mrk}` for its record whose `detail` starts with
  the line number (`"line 7: ..."`) and whose `byte_offset` is the line's. MARCMaker
  mnemonics become their characters (a combining mark, written before its base letter
  as in MARC-8, is put after it; nothing is normalised); `\\` is a blank in the leader,
  control fields and indicators. A record whose leader/09 is not `a` is MARC-8 text
  (MARCMaker's `.mrk`): its mnemonics are MARC-8 bytes, and it is read as the same record
  in ISO 2709 is, with the MARC-8 options. To stream a file, use `stream(path, format: :mrk)`.

      iex> {:ok, [record]} = Snakepit.Marc.from_mrk("=LDR  00000nam\\\\a2200000\\\\a\\\\4500\\n=245  10$aCaf{acute}e {dollar}5\\n")
      iex> record["245"]["a"]
      "Cafe\\u0301 $5"
      iex> {:error, %Snakepit.Marc.ParseError{kind: :invalid_mrk, detail: "line 2: " <> _}} =
      ...>   Snakepit.Marc.from_mrk("=LDR  00000nam a2200000 a 4500\\n245  10$aNo equals sign\\n")

  ## Options

  #{Options.docs(:read)} (The MARC-8 options apply to MARC-8 records only: `.mrk8` holds Unicode text.)
  """
  @spec from_mrk(binary, keyword) ::
          {:ok, [item]} | {:ok, [item], %{skipped: non_neg_integer}} | {:error, ParseError.t()}
  def from_mrk(binary, opts \\ []), do: Snakepit.Marc.Mrk.from_mrk(binary, opts)

  @doc """
  A line dump of records, exactly pymarc's `str(record)`: `=LDR  ` and the leader as
  stored, then one `=TAG  ` line a field (blanks of control fields and indicators as `\\`,
  subfields as `$` and code), each record followed by a blank line. Nothing is escaped:
  this is for reading; `to_mrk/2` is the format that reads back. A MARC-8 record's text is
  converted to UTF-8 (NFC), as pymarc shows it.

      iex> record = %Snakepit.Marc.Record{
      ...>   leader: "00000nam a2200000 a 4500",
      ...>   fields: [Snakepit.Marc.Field.data("245", "1", " ", [{"a", "Prices in US$ /"}])]
      ...> }
      iex> Snakepit.Marc.to_text(record)
      "=LDR  00000nam a2200000 a 4500\\n=245  1\\\\$aPrices in US$ /\\n\\n"

  ## Options

  #{Options.docs(:to_text)}
  """
  @spec to_text(Record.t() | [Record.t()], keyword) :: binary
  def to_text(records, opts \\ []), do: Snakepit.Marc.Mrk.to_text(records, opts)
end
