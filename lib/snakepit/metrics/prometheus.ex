defmodule Snakepit.Metrics.Prometheus do
  # The Prometheus text exposition format, version 0.0.4
  # (https://prometheus.io/docs/instrumenting/exposition_formats/), from plain data:
  #
  #   %{name: "x_total", type: :counter | :gauge | :histogram, help: "...",
  #     samples: [{name, [{label, value}], number}]}
  #
  # Each family gets one HELP and one TYPE line, then its samples; a histogram's samples
  # are `name_bucket` (with `le`), `name_sum` and `name_count`, as the caller builds them
  # (`histogram_samples/4`). Names are checked against the format's charsets, label values
  # and HELP text escaped.
  @moduledoc false

  @content_type "text/plain; version=0.0.4; charset=utf-8"

  @doc "The Content-Type of the format."
  def content_type, do: @content_type

  @doc "The text of `families`; raises ArgumentError on an invalid or repeated name."
  @spec render([map]) :: iodata
  def render(families) do
    names = Enum.map(families, & &1.name)
    repeated = names -- Enum.uniq(names)

    if repeated != [],
      do:
        raise(
          ArgumentError,
          "metric families must be unique, got: #{inspect(Enum.uniq(repeated))}"
        )

    Enum.map(families, &family/1)
  end

  defp family(%{name: name, type: type, help: help, samples: samples}) do
    metric_name!(name)

    [
      ["# HELP ", name, ?\s, escape_help(help), ?\n],
      ["# TYPE ", name, ?\s, Atom.to_string(type), ?\n]
      | Enum.map(samples, &sample(name, type, &1))
    ]
  end

  defp sample(family, type, {name, labels, value}) do
    metric_name!(name)

    unless sample_of?(family, type, name),
      do: raise(ArgumentError, "sample #{inspect(name)} is not of family #{inspect(family)}")

    [name, labels(labels), ?\s, number(value), ?\n]
  end

  defp sample_of?(family, :histogram, name),
    do: name in [family <> "_bucket", family <> "_sum", family <> "_count"]

  defp sample_of?(family, _type, name), do: name == family

  defp labels([]), do: []

  defp labels(labels) do
    pairs =
      Enum.map_intersperse(labels, ?,, fn {label, value} ->
        label = to_string(label)
        label_name!(label)
        [label, ?=, ?", escape_label(text(value)), ?"]
      end)

    [?{, pairs, ?}]
  end

  @doc """
  The samples of one histogram label set: cumulative `_bucket` lines for `bounds` (in the
  histogram's unit) and `+Inf`, then `_sum` and `_count`. `counts` are per bucket, not
  cumulative, one per bound plus one for +Inf.
  """
  def histogram_samples(name, labels, bounds, counts, sum) do
    {buckets, total} =
      Enum.zip(bounds ++ [:infinity], counts)
      |> Enum.map_reduce(0, fn {bound, n}, acc ->
        {{name <> "_bucket", labels ++ [{"le", le(bound)}], acc + n}, acc + n}
      end)

    buckets ++ [{name <> "_sum", labels, sum}, {name <> "_count", labels, total}]
  end

  defp le(:infinity), do: "+Inf"
  defp le(bound), do: number(bound)

  @doc false
  def number(n) when is_integer(n), do: Integer.to_string(n)
  def number(f) when is_float(f), do: :erlang.float_to_binary(f, [:short])

  defp text(value) when is_binary(value), do: value
  defp text(value) when is_atom(value) or is_number(value), do: to_string(value)
  defp text(value), do: inspect(value)

  defp escape_help(text), do: String.replace(text, ["\\", "\n"], &escape/1)
  defp escape_label(text), do: String.replace(text, ["\\", "\"", "\n"], &escape/1)

  defp escape("\\"), do: "\\\\"
  defp escape("\""), do: "\\\""
  defp escape("\n"), do: "\\n"

  @doc "Whether `name` is a valid metric name."
  def metric_name?(name), do: name =~ ~r/\A[a-zA-Z_:][a-zA-Z0-9_:]*\z/

  @doc "Whether `name` is a valid label name (names starting `__` are reserved)."
  def label_name?(name),
    do: name =~ ~r/\A[a-zA-Z_][a-zA-Z0-9_]*\z/ and not String.starts_with?(name, "__")

  defp metric_name!(name) do
    unless is_binary(name) and metric_name?(name),
      do: raise(ArgumentError, "invalid metric name, got: #{inspect(name)}")
  end

  defp label_name!(name) do
    unless label_name?(name),
      do: raise(ArgumentError, "invalid label name, got: #{inspect(name)}")
  end
end
