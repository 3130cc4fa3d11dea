defmodule Snakepit.Test.MetricsText do
  @moduledoc false
  # Reads Prometheus text back (the samples only): `%{"name{labels}" => number}`, labels as
  # rendered.

  def parse(text) do
    for line <- String.split(text, "\n", trim: true),
        not String.starts_with?(line, "#"),
        into: %{} do
      [_, series, value] = Regex.run(~r/\A(.*) (\S+)\z/, line)
      {series, number(value)}
    end
  end

  defp number(text) do
    case Integer.parse(text) do
      {n, ""} -> n
      _ -> text |> Float.parse() |> elem(0)
    end
  end
end
