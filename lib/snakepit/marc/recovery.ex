defmodule Snakepit.Marc.Recovery do
  # The repair options of every read (one block of the options schema) and
  # `Snakepit.Marc.encoding_report/2`. The repairs themselves are native
  # (native/snakepit_core/src/recover.rs), on every read path.
  @moduledoc false

  alias Snakepit.Marc
  alias Snakepit.Marc.Options

  @options [
    utf8_errors: [
      type: {:in, [:error, :replace, :drop]},
      default: :error,
      doc:
        "Invalid UTF-8 in a record whose leader/09 is `a` (pymarc's `utf8_handling`). `:error`: the " <>
          "record is bad (`:mode` decides). `:replace`: each invalid sequence (maximal subpart, as " <>
          "WHATWG and Rust's `String::from_utf8_lossy` count them) becomes U+FFFD. `:drop`: it is left " <>
          "out. Either is listed in the record's `repairs`."
    ],
    encoding: [
      type: {:in, [:declared, :auto]},
      default: :declared,
      doc:
        "`:declared`: leader/09 says how the record is encoded. `:auto`: checked per record against " <>
          "the bytes; a record labelled MARC-8 whose data is UTF-8 with multibyte characters is read " <>
          "as UTF-8, one labelled UTF-8 whose data is not UTF-8 but reads as MARC-8 is read as MARC-8; " <>
          "either is a repair."
    ],
    repair_directory: [
      type: :boolean,
      default: false,
      doc:
        "When the directory's lengths or offsets disagree with the field terminators beyond what is " <>
          "always tolerated, rebuild the fields from the terminators (as marc4j's permissive reader " <>
          "does), as a repair. Entries that claim the same bytes twice stay `:overlapping_fields`."
    ]
  ]

  @doc "The repair options, for the read schemas."
  def options, do: @options

  @doc "Their names."
  def keys, do: Keyword.keys(@options)

  @doc "encoding_report/2's schema: how a stream reads, taken from `stream`'s schema."
  def report_options(stream),
    do:
      Keyword.take(stream, [
        :batch_size,
        :max_batch_bytes,
        :threads,
        :buffer,
        :chunk_size,
        :repair_directory
      ])

  @doc "See `Snakepit.Marc.encoding_report/2`."
  def encoding_report(source, opts) do
    config = Options.validate!(opts, :encoding_report)

    read =
      Map.to_list(config) ++
        [
          mode: :permissive,
          records: :lazy,
          to_unicode: false,
          encoding: :auto,
          utf8_errors: :replace
        ]

    source
    |> Marc.stream(read)
    |> Enum.reduce(%{records: 0, errors: 0, counts: %{}}, fn
      {:error, _}, acc ->
        %{acc | errors: acc.errors + 1}

      lazy, acc ->
        key = encodings(lazy)
        %{acc | records: acc.records + 1, counts: Map.update(acc.counts, key, 1, &(&1 + 1))}
    end)
  end

  # {declared, detected}: what leader/09 said before any repair, and what the bytes are.
  defp encodings(%{repairs: repairs} = lazy) do
    kinds = Enum.map(repairs, & &1.kind)

    cond do
      :encoding_utf8 in kinds -> {:marc8, :utf8}
      :encoding_marc8 in kinds -> {:utf8, :marc8}
      binary_part(lazy.bytes, 9, 1) == "a" -> {:utf8, :utf8}
      true -> {:marc8, :marc8}
    end
  end
end
