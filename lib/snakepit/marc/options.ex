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
    report: [
      type: :boolean,
      default: false,
      doc: "Return `{:ok, records, %{skipped: n}}` instead of `{:ok, records}`."
    ]
  ]

  def spec(:read), do: @read

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
            "unknown option #{inspect(Keyword.keys(rest))}, allowed: #{inspect(Keyword.keys(spec))}"
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

  @doc "Markdown list of the options named `name`, for @doc strings."
  def docs(name) do
    Enum.map_join(spec(name), "\n", fn {key, rules} ->
      "  * `#{inspect(key)}` (default `#{inspect(rules[:default])}`): #{rules[:doc]}"
    end)
  end
end
