defmodule Snakepit.Marc.Formats do
  # MARC-in-JSON and MARCXML behind Snakepit.Marc: writers (whole documents and streams of
  # iodata chunks, each chunk written by one NIF call over a batch of records) and readers.
  @moduledoc false

  alias Snakepit.Marc.{LazyRecord, NativeResult, Options, Record}
  alias Snakepit.Native

  def to_json(records, opts) do
    opts = Options.validate!(opts, :to_json)

    {list, layout} =
      case records do
        %struct{} = record when struct in [Record, LazyRecord] ->
          {[record], if(opts.lines, do: :lines, else: :object)}

        list when is_list(list) ->
          {list, if(opts.lines, do: :lines, else: :array)}

        other ->
          bad_records!(other)
      end

    write!(Native.records_to_json(list, layout, true, 0))
  end

  def to_xml(records, opts) do
    Options.validate!(opts, :to_xml)

    list =
      case records do
        %struct{} = record when struct in [Record, LazyRecord] -> [record]
        list when is_list(list) -> list
        other -> bad_records!(other)
      end

    write!(Native.records_to_xml(list, :collection, 0))
  end

  def json_stream(records, opts) do
    opts = Options.validate!(opts, :json_stream)
    size = opts.batch_size

    if opts.lines do
      batched(records, size, &Native.records_to_json(&1, :lines, true, &2))
    else
      {head, tail} = Native.format_frame(:array)
      body = batched(records, size, &Native.records_to_json(&1, :items, &2 == 0, &2))
      Stream.concat([[head], body, [tail]])
    end
  end

  def xml_stream(records, opts) do
    opts = Options.validate!(opts, :xml_stream)
    {head, tail} = Native.format_frame(:collection)
    body = batched(records, opts.batch_size, &Native.records_to_xml(&1, :records, &2))

    Stream.concat([[head], body, [tail]])
  end

  # One chunk per batch of `size` records, written by `nif.(batch, index_of_first_record)`.
  defp batched(records, size, nif) do
    records
    |> Stream.chunk_every(size)
    |> Stream.transform(0, fn batch, base ->
      {[write!(nif.(batch, base))], base + length(batch)}
    end)
  end

  @doc "ISO 2709 in batches (see `Snakepit.Marc.Encoder.iso_stream/3`)."
  def iso_stream(records, opts \\ []), do: Snakepit.Marc.Encoder.iso_stream(records, opts)

  def from_json(binary, opts) when is_binary(binary),
    do: read(&Native.from_json_binary/2, binary, opts)

  def from_json(other, _opts),
    do: raise(ArgumentError, "from_json/2 expects a binary, got: #{inspect(other, limit: 5)}")

  def from_xml(binary, opts) when is_binary(binary),
    do: read(&Native.from_xml_binary/2, binary, opts)

  def from_xml(other, _opts),
    do: raise(ArgumentError, "from_xml/2 expects a binary, got: #{inspect(other, limit: 5)}")

  defp read(nif, binary, opts) do
    config = Options.validate!(opts, :read)
    NativeResult.read(nif.(binary, config), config)
  end

  defp write!(result), do: NativeResult.write!(result)

  defp bad_records!(other) do
    raise ArgumentError,
          "expected a %Snakepit.Marc.Record{} or a list of them, got: #{inspect(other, limit: 5)}"
  end
end
