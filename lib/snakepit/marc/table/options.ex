defmodule Snakepit.Marc.Table.Options do
  # The options of Snakepit.Marc.Table, as a schema.
  @moduledoc false

  @schema [
    format: [type: {:in, [:csv, :tsv, :jsonl]}, default: :csv, doc: "`:csv`, `:tsv` or `:jsonl`."],
    columns: [
      type: {:custom, &__MODULE__.columns/1, "a non-empty list of names"},
      doc:
        "The columns, in order (the names of the extraction, e.g. `Snakepit.Marc.Spec.names/1`). " <>
          "Default: the first row's keys, sorted."
    ],
    header: [type: :boolean, default: true, doc: "Write a header line first (CSV and TSV)."],
    joiner: [
      type: {:custom, &__MODULE__.string/1, "a string"},
      default: "|",
      doc: "Joins the values of a multi-valued cell (CSV and TSV)."
    ]
  ]

  def schema, do: @schema

  @doc false
  def columns([_ | _] = list), do: {:ok, list}
  def columns(_), do: :error

  @doc false
  def string(s) when is_binary(s), do: {:ok, s}
  def string(_), do: :error
end
