defmodule Snakepit.Marc.Spec.Options do
  # The extraction options, as a schema (Snakepit.Options.Schema): validated and documented
  # from here, for compile!/2 and for each output's own options.
  @moduledoc false

  @schema [
    separator: [
      type: {:custom, &__MODULE__.string_or_nil/1, "a string or nil"},
      default: " ",
      doc: "Joins the subfields one field gives; `nil` never joins."
    ],
    first: [type: :boolean, default: false, doc: "Keep only the first value."],
    dedupe: [
      type: :boolean,
      default: true,
      doc: "Drop repeated values, keeping the first (as traject)."
    ],
    trim_punctuation: [
      type: :boolean,
      default: false,
      doc: "traject's `trim_punctuation` on each value (see `docs/extraction.md`)."
    ],
    default: [
      type: {:custom, &__MODULE__.string_or_nil/1, "a string or nil"},
      default: nil,
      doc: "The one value given when nothing was selected."
    ],
    alternate_script: [
      type: {:in, [:include, :only, false]},
      default: :include,
      doc:
        "880s: `:include` counts an 880 whose `$6` begins `245` as a 245, `:only` takes only " <>
          "such 880s, `false` treats 880 as any other tag."
    ]
  ]

  @doc "The schema; with `base`, its defaults are `base`'s values (an output's own options)."
  def schema, do: @schema

  def schema(base),
    do: Enum.map(@schema, fn {key, rules} -> {key, Keyword.put(rules, :default, base[key])} end)

  @doc "The option names."
  def keys, do: Keyword.keys(@schema)

  @doc false
  def string_or_nil(value) when is_binary(value) or is_nil(value), do: {:ok, value}
  def string_or_nil(_value), do: :error
end
