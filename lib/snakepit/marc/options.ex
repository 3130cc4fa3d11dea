defmodule Snakepit.Marc.Options do
  # The option schemas of the record API (Snakepit.Options.Schema): validation and the docs
  # of Snakepit.Marc are both made from them.
  @moduledoc false

  alias Snakepit.Options.Schema

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
    decode_ncrs: [
      type: :boolean,
      default: false,
      doc:
        "Turn the numeric character references `&#xHHHH;` in MARC-8 records back into the " <>
          "characters they name: how MARC-8 writers (this one with `unrepresentable: :ncr`, LC's " <>
          "converter) keep characters MARC-8 lacks. Applies to converted MARC-8 records only."
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

  # The repair options (Snakepit.Marc.Recovery): read options of every read path.
  @read @read ++ Snakepit.Marc.Recovery.options()

  @stream Keyword.take(@read, [
            :mode,
            :validate_utf8,
            :to_unicode,
            :normalize,
            :marc8_errors,
            :decode_ncrs,
            :records
            | Snakepit.Marc.Recovery.keys()
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
                type: :pos_integer,
                default:
                  {:computed, "`SNAKEPIT_NUM_THREADS`, else logical cores",
                   &Snakepit.Config.Options.default_threads/1},
                doc: "Parser threads for file sources."
              ],
              buffer: [
                type: {:int_range, 1, 64},
                default: 4,
                doc:
                  "Parsed batches that may wait for the consumer (file sources). With the batch caps this " <>
                    "bounds native memory: see the Streaming section of docs/architecture.md."
              ],
              format: [
                type: {:in, [:auto, :iso2709, :json, :xml, :mrk]},
                default: :auto,
                doc:
                  "What the source holds. `:auto`: a path by its extension (`.xml`; `.json`, `.jsonl`, " <>
                    "`.ndjson`; anything else is sniffed), other sources by their first non-blank byte " <>
                    "(`<` MARCXML, `{` or `[` MARC-in-JSON, `=` .mrk, else ISO 2709). `:json` reads JSON Lines, " <>
                    "an array or one record. `:mrk` reads MarcEdit's mnemonic format (under `:auto`, a path " <>
                    "ending in `.mrk` or `.mrk8`, or a first non-blank `=`). JSON, XML and .mrk are " <>
                    "read one record at a time with bounded memory; they hold Unicode text, so no MARC-8 " <>
                    "conversion applies."
              ],
              max_record_bytes: [
                type: {:int_range, 1024, 1024 * 1024 * 1024},
                default: 16 * 1024 * 1024,
                doc:
                  "Largest MARC-in-JSON, MARCXML or .mrk record a stream reads, in bytes of input (each is " <>
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

  # The writers: to_json/2, to_xml/2 and their stream forms.
  @lines [
    lines: [
      type: :boolean,
      default: false,
      doc:
        "JSON Lines (each record one line ending in a newline) instead of an array (or an object)."
    ]
  ]
  @write_batch [
    batch_size: [
      type: :pos_integer,
      default: 200,
      doc: "Records written per native call (per chunk)."
    ]
  ]

  # map/3 and each/3 take these and the options of stream/2 and parse/2.
  @fan_out [
    workers: [
      type: :pos_integer,
      default: {:computed, "schedulers online", &__MODULE__.schedulers_online/1},
      doc: "Processes working at once."
    ],
    ordered: [type: :boolean, default: true, doc: "Keep source order (`each/3` does not)."],
    timeout: [
      type: {:or, [:pos_integer, {:in, [:infinity]}]},
      default: :infinity,
      doc: "Per batch, in ms."
    ],
    pool: [
      type: {:or, [:atom, {:in, [nil]}]},
      allowed: "a pool name (an atom)",
      default: nil,
      doc: "Run each batch in a worker of this `Snakepit.Pool` (under its capacity)."
    ],
    # nodes:/retry: with pool: (docs/cluster.md)
    nodes: [
      type: {:in, [:local, :cluster]},
      default: :local,
      doc:
        "With `:pool`, `:cluster` sends each batch's bytes to the least-loaded pool of that " <>
          "name on any connected node and brings back only its results (docs/cluster.md)."
    ],
    retry: [
      type: :boolean,
      default: false,
      doc: "With `nodes: :cluster`, run a batch again on another node if its node goes down."
    ]
  ]

  # encode/2 and iso_stream/2: the ISO 2709 writer.
  @encode [
    encoding: [
      type: {:in, [nil, :marc8]},
      default: nil,
      doc:
        "`nil`: bytes as they are. `:marc8`: UTF-8 records (leader/09 `a`) are written as MARC-8 " <>
          "(leader/09 blank, lengths recomputed), with escape sequences for every MARC-8 set and " <>
          "combining marks before their base; MARC-8 records are written as they are. See docs/formats.md."
    ],
    unrepresentable: [
      type: {:in, [:ncr, :replace, :error]},
      default: :ncr,
      doc:
        "With `encoding: :marc8`, a character MARC-8 has no code for. `:ncr`: the numeric character " <>
          "reference `&#xHHHH;` (read back with `decode_ncrs: true`). `:replace`: the fill character `|`. " <>
          "`:error`: the record is bad (`:invalid_value`), and `:mode` decides."
    ],
    oversize: [
      type: {:in, [:error, :zero_length]},
      default: :error,
      doc:
        "A record over 99,999 or a field over 9,999 bytes. `:error`: the record is bad (`:too_large`). " <>
          "`:zero_length`: written with `00000` as its length in the leader and `0000` as the field's " <>
          "length in the directory, as ruby-marc's `allow_oversized` and many ILSs do."
    ],
    mode: [
      type: {:in, [:strict, :skip]},
      default: :strict,
      doc:
        "A record that cannot be written. `:strict`: raises `Snakepit.Marc.ParseError`. `:skip`: left out."
    ]
  ]

  # to_mrk/2: MarcEdit's .mrk8 (UTF-8), or MARCMaker's MARC-8 .mrk through the ISO 2709
  # writer's MARC-8 conversion (its `unrepresentable` option, same meaning).
  @to_mrk [
    encoding: [
      type: {:in, [:utf8, :marc8]},
      default: :utf8,
      doc:
        "`:utf8`: MarcEdit's `.mrk8` (leader/09 `a`, MARC-8 records converted to UTF-8). `:marc8`: " <>
          "MARCMaker's MARC-8 `.mrk`: each record as `encode/2` writes it with `encoding: :marc8` " <>
          "(leader/09 blank, escape sequences, combining marks before their base), every byte outside " <>
          "printable ASCII written as its MARCMaker mnemonic (`{acute}`, `{esc}`, `{C7}`). See docs/formats.md."
    ],
    unrepresentable:
      Keyword.put(
        @encode[:unrepresentable],
        :doc,
        "With `encoding: :marc8`, a character MARC-8 has no code for. `:ncr`: the numeric character " <>
          "reference `&#xHHHH;` (read back with `decode_ncrs: true`). `:replace`: the fill character `|`. " <>
          "`:error`: raises `Snakepit.Marc.ParseError` (`:invalid_value`)."
      )
  ]

  # lint/2 and lint_stream/2 (Snakepit.Marc.Lint); lint_stream/2 also takes @lint_stream and
  # the fan-out options.
  @lint [
    rules: [
      type: :any,
      default: nil,
      doc:
        "The rule set: a `Snakepit.Marc.Rules` compiled with `Snakepit.Marc.Rules.compile!/1`, a map or " <>
          "keyword list to compile, or the path of a JSON rule set file (TOML when it ends in `.toml`). `nil`: the built-in MARC 21 checks."
    ],
    only: [
      type: {:or, [{:in, [nil]}, {:custom, &__MODULE__.code_list/1, "a list of code names"}]},
      default: nil,
      doc: "Report only these codes (`\"subfield.*\"` names every code under a prefix)."
    ],
    except: [
      type: {:custom, &__MODULE__.code_list/1, "a list of code names"},
      default: [],
      doc: "Do not report these codes (after `:only`, and after the rule set's own `disable`)."
    ]
  ]
  @lint_stream Keyword.drop(@stream, [:mode, :records])

  @schemas %{
    encode: @encode,
    iso_stream: @encode ++ @write_batch,
    lint: @lint,
    lint_stream: @lint_stream,
    read: @read,
    count: @count,
    stream: @stream,
    to_json: @lines,
    to_xml: [],
    json_stream: @lines ++ @write_batch,
    xml_stream: @write_batch,
    to_mrk: @to_mrk,
    to_text: [],
    fan_out: @fan_out,
    encoding_report: Snakepit.Marc.Recovery.report_options(@stream)
  }

  @doc false
  def schedulers_online(_opts), do: System.schedulers_online()

  @doc false
  def code_list(codes) when is_list(codes) do
    if Enum.all?(codes, &is_binary/1), do: {:ok, codes}, else: :error
  end

  def code_list(_codes), do: :error

  # Each schema compiled once, for `validate!/2`.
  @compiled Map.new(@schemas, fn {name, schema} -> {name, Schema.compile(schema)} end)

  @doc "The schema named `name` (a `Snakepit.Options.Schema`)."
  def spec(name), do: Map.fetch!(@schemas, name)

  @doc "The names of the schemas."
  def names, do: Map.keys(@schemas)

  @doc """
  The read options that say how records are built: those of `parse/2` but `:report`,
  which only shapes a result. Fan-out and pooled streams hand these to each batch's parse.
  """
  def parse_keys, do: Schema.keys(@read) -- [:report]

  @doc """
  The read config the native readers take (`ReadConfig` in options.rs), from a validated
  config: one place, so no reader can miss a key.
  """
  def native_read(config) do
    config
    |> Map.take([:mode, :validate_utf8, :to_unicode, :normalize, :marc8_errors, :decode_ncrs])
    |> Map.merge(Map.take(config, Snakepit.Marc.Recovery.keys()))
    |> Map.put(:records, :struct)
  end

  @doc """
  The native read config for bytes already read (checked, converted, repaired): taken as
  they are, bad ones under `mode`.
  """
  def native_as_read(mode) do
    # Per record on some paths: validated once, then kept.
    key = {__MODULE__, :native_as_read, mode}

    with nil <- :persistent_term.get(key, nil) do
      config =
        [mode: mode, validate_utf8: false, to_unicode: false]
        |> validate!(:read)
        |> native_read()

      :persistent_term.put(key, config)
      config
    end
  end

  @doc "The values option `key` of the schema named `name` takes (its type is `{:in, values}`)."
  def values(name, key) do
    {:in, values} = spec(name) |> Keyword.fetch!(key) |> Keyword.fetch!(:type)
    values
  end

  @doc "Validates `opts` against the schema named `name`, filling defaults. Raises ArgumentError."
  def validate!(opts, name), do: Schema.validate_compiled!(opts, Map.fetch!(@compiled, name))

  @doc "Markdown list of the options named `name`, for @doc strings."
  def docs(name), do: Schema.docs(spec(name))
end
