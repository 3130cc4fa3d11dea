defmodule Snakepit.Marc.Options do
  # Option specs as data: validation and the docs of Snakepit.Marc are both made from them.
  @moduledoc false

  @read [
    mode: [
      type: {:in, [:strict, :permissive, :skip]},
      default: :strict,
      doc:
        "What a bad record does. `:strict`: the first one is the error. `:permissive`: each " <>
          "comes back in its place as `{:error, %Snakepit.Marc.ParseError{}}`. `:skip`: dropped and counted."
    ],
    validate_utf8: [
      type: :boolean,
      default: true,
      doc: "Check that records whose leader/09 is `a` hold valid UTF-8."
    ],
    to_unicode: [
      type: :boolean,
      default: true,
      doc:
        "Convert MARC-8 records (leader/09 blank) to UTF-8; leader/09 becomes `a` and lengths " <>
          "are recomputed. `false` leaves their bytes as they are."
    ],
    normalize: [
      type: {:in, [nil, :nfc, :nfd]},
      default: nil,
      doc: "Unicode normalisation of text converted from MARC-8: `nil` (none), `:nfc` or `:nfd`."
    ],
    marc8_errors: [
      type: {:in, [:error, :replace, :drop]},
      default: :error,
      doc:
        "A bad MARC-8 escape or unknown code point: `:error` makes the record bad (and `:mode` " <>
          "decides), `:replace` writes U+FFFD (pymarc's `utf8_handling=\"replace\"`), `:drop` leaves it out."
    ],
    records: [
      type: {:in, [:struct, :lazy]},
      default: :struct,
      doc:
        "What each good record is. `:struct`: a `Snakepit.Marc.Record` with every field built. " <>
          "`:lazy`: a `Snakepit.Marc.LazyRecord` holding only the record's bytes, with fields built " <>
          "when asked for; several times faster to read when you need a few fields, or none."
    ],
    report: [
      type: :boolean,
      default: false,
      doc: "Return `{:ok, records, %{skipped: n}}` instead of `{:ok, records}`."
    ]
  ]

  @stream Keyword.take(@read, [
            :mode,
            :validate_utf8,
            :to_unicode,
            :normalize,
            :marc8_errors,
            :records
          ]) ++
            [
              batch_size: [
                type: {:int_range, 1, 200},
                default: 100,
                doc: "Records per batch crossing from native code (at most 200)."
              ],
              max_batch_bytes: [
                type: {:int_range, 1024, 300_000},
                default: 300_000,
                doc:
                  "Bytes of record data per batch (at most 300 KB; a single larger record still passes)."
              ],
              threads: [
                type: :threads,
                default: nil,
                doc:
                  "Parser threads for file sources. Default: the `SNAKEPIT_NUM_THREADS` environment " <>
                    "variable, else all cores."
              ],
              buffer: [
                type: {:int_range, 1, 64},
                default: 4,
                doc:
                  "Parsed batches that may wait for the consumer (file sources). With the batch caps this " <>
                    "bounds native memory: see the Streaming section of docs/architecture.md."
              ],
              format: [
                type: {:in, [:auto, :iso2709, :json, :xml]},
                default: :auto,
                doc:
                  "What the source holds. `:auto`: a path by its extension (`.xml`; `.json`, `.jsonl`, " <>
                    "`.ndjson`; anything else is sniffed), other sources by their first non-blank byte " <>
                    "(`<` MARCXML, `{` or `[` MARC-in-JSON, else ISO 2709). `:json` reads JSON Lines, " <>
                    "an array or one record. JSON and XML are read one record at a time with bounded " <>
                    "memory; they hold Unicode text, so no MARC-8 conversion applies."
              ],
              max_record_bytes: [
                type: {:int_range, 1024, 1024 * 1024 * 1024},
                default: 16 * 1024 * 1024,
                doc:
                  "Largest MARC-in-JSON or MARCXML record a stream reads, in bytes of input (both are " <>
                    "read one whole record at a time). A larger one is a `:too_large` error that ends the stream."
              ],
              chunk_size: [
                type: {:int_range, 1, 64 * 1024 * 1024},
                default: 1_048_576,
                doc: "Bytes taken at a time from binaries and IO devices."
              ]
            ]

  # count/2 only frames and checks records: nothing else of @read applies.
  @count Keyword.take(@read, [:validate_utf8])

  def spec(:read), do: @read
  def spec(:count), do: @count
  def spec(:stream), do: @stream

  @doc "Validates `opts` against the spec named `name`, filling defaults. Raises ArgumentError."
  def validate!(opts, name) when is_list(opts) do
    spec = spec(name)

    {values, rest} =
      Enum.map_reduce(spec, opts, fn {key, rules}, rest ->
        {value, rest} = Keyword.pop(rest, key, rules[:default])
        check!(key, value, rules[:type])
        {{key, value}, rest}
      end)

    if rest != [] do
      raise ArgumentError,
            "unknown option #{inspect(Keyword.keys(rest))}, allowed: " <>
              "#{inspect(Keyword.keys(spec))}, got: #{inspect(opts)}"
    end

    Map.new(values)
  end

  def validate!(opts, _name),
    do: raise(ArgumentError, "options must be a keyword list, got: #{inspect(opts)}")

  defp check!(key, value, {:in, allowed}) do
    unless value in allowed,
      do:
        raise(
          ArgumentError,
          "#{inspect(key)} must be one of #{inspect(allowed)}, got: #{inspect(value)}"
        )
  end

  defp check!(key, value, :boolean) do
    unless is_boolean(value),
      do: raise(ArgumentError, "#{inspect(key)} must be a boolean, got: #{inspect(value)}")
  end

  defp check!(key, value, :pos_integer) do
    unless is_integer(value) and value > 0,
      do:
        raise(ArgumentError, "#{inspect(key)} must be a positive integer, got: #{inspect(value)}")
  end

  defp check!(key, value, {:int_range, min, max}) do
    unless is_integer(value) and value >= min and value <= max,
      do:
        raise(
          ArgumentError,
          "#{inspect(key)} must be an integer in #{min}..#{max}, got: #{inspect(value)}"
        )
  end

  defp check!(_key, nil, :threads), do: :ok
  defp check!(key, value, :threads), do: check!(key, value, :pos_integer)

  @doc "The parser thread count: the option, else SNAKEPIT_NUM_THREADS, else all cores."
  def threads(nil) do
    with value when is_binary(value) <- System.get_env("SNAKEPIT_NUM_THREADS"),
         {n, ""} when n > 0 <- Integer.parse(value) do
      n
    else
      _ -> System.schedulers_online()
    end
  end

  def threads(n), do: n

  @doc "Markdown list of the options named `name`, for @doc strings."
  def docs(name) do
    Enum.map_join(spec(name), "\n", fn {key, rules} ->
      "  * `#{inspect(key)}` (default `#{inspect(rules[:default])}`): #{rules[:doc]}"
    end)
  end
end
