defmodule Snakepit.Options.Schema do
  # The one way options are declared, checked and documented in Snakepit, in the manner of
  # NimbleOptions (written in-house: no hex package can be fetched here).
  #
  # A schema is data: a keyword list of option name => rules, in documentation order.
  #
  #   * `:type` (required) - see below.
  #   * `:default` - used when the option is not given. A literal default is taken as it is
  #     (a test checks each against its type); `{:computed, text, fun}` calls `fun` (an
  #     external capture, arity 1) with the options normalised so far, i.e. those listed
  #     earlier in the schema, and checks what it returns, since it comes from the machine
  #     or the environment. `text` documents it. No `:default` and not `:required`: the
  #     option is absent from the result when not given.
  #   * `:required` - `true` if the option must be given.
  #   * `:doc` - what it does (markdown).
  #   * `:allowed` - words for the accepted values, in messages and docs, when those the
  #     type gives are not enough (e.g. "an atom, unique among pools").
  #
  # Types: `:any`, `:boolean`, `:atom` (neither nil nor a boolean), `:pos_integer`,
  # `:non_neg_integer`, `{:int_range, min, max}`, `{:in, values}`, `{:or, [type]}` (the
  # first that accepts the value), and `{:custom, fun, allowed}` where `fun` (an external
  # capture) returns `{:ok, normalised}` or `:error`.
  #
  # `validate/2` returns `{:ok, map}` with every option of the schema that has a value, or
  # `{:error, message}`; the messages read "... got: VALUE". Unknown options are errors that
  # list the known ones.
  @moduledoc false

  @type type ::
          :any
          | :boolean
          | :atom
          | :pos_integer
          | :non_neg_integer
          | {:int_range, integer, integer}
          | {:in, [term]}
          | {:or, [type]}
          | {:custom, (term -> {:ok, term} | :error), String.t()}
  @type t :: keyword(keyword)

  @doc "The option names of `schema`, in order."
  @spec keys(t) :: [atom]
  def keys(schema), do: Keyword.keys(schema)

  @doc "Validates `opts` (a keyword list) against `schema`: `{:ok, map}` or `{:error, message}`."
  @spec validate(term, t) :: {:ok, map} | {:error, String.t()}
  def validate(opts, schema) do
    cond do
      not (is_list(opts) and Keyword.keyword?(opts)) ->
        {:error, "options must be a keyword list, got: #{inspect(opts)}"}

      # A repeated option is not unknown (the first is taken, as `Keyword.fetch/2` does).
      (unknown = Enum.reject(Keyword.keys(opts), &Keyword.has_key?(schema, &1))) != [] ->
        {:error,
         "unknown option #{inspect(Enum.uniq(unknown))}, allowed: #{inspect(keys(schema))}, " <>
           "got: #{inspect(opts)}"}

      true ->
        Enum.reduce_while(schema, {:ok, %{}}, fn {key, rules}, {:ok, acc} ->
          case value(opts, key, rules, acc) do
            :absent -> {:cont, {:ok, acc}}
            {:ok, value} -> {:cont, {:ok, Map.put(acc, key, value)}}
            {:error, _} = error -> {:halt, error}
          end
        end)
    end
  end

  @doc """
  `schema` made ready for `validate_compiled/2`: its rules by key, its literal defaults as
  a map, its computed defaults and required keys. Build it once (at compile time, say).
  """
  @spec compile(t) :: map
  def compile(schema) do
    keys = keys(schema)

    %{
      schema: schema,
      rules: Map.new(schema),
      defaults:
        for({key, rules} <- schema, static_default?(rules), into: %{}, do: {key, rules[:default]}),
      computed:
        for(
          {{key, rules}, i} <- Enum.with_index(schema),
          match?({:computed, _, _}, rules[:default]),
          do: {key, elem(rules[:default], 2), rules, Enum.take(keys, i)}
        ),
      required: for({key, rules} <- schema, rules[:required], do: key)
    }
  end

  defp static_default?(rules),
    do: Keyword.has_key?(rules, :default) and not match?({:computed, _, _}, rules[:default])

  @doc """
  `validate/2` against a `compile/1`d schema, with the same answer: the given options are
  checked one by one over a map of the defaults, instead of every option of the schema
  looked up in them (the read options: 2.4 µs against 4.0). Bad options go
  through `validate/2`, so the message is the same too.
  """
  @spec validate_compiled(term, map) :: {:ok, map} | {:error, String.t()}
  def validate_compiled(opts, %{schema: schema} = plan) when is_list(opts) do
    with {:ok, given} <- given(opts, plan.rules, %{}),
         true <- Enum.all?(plan.required, &Map.has_key?(given, &1)),
         {:ok, values} <- computed(plan.computed, given, Map.merge(plan.defaults, given)) do
      {:ok, values}
    else
      _ -> validate(opts, schema)
    end
  end

  def validate_compiled(opts, %{schema: schema}), do: validate(opts, schema)

  @doc "Like `validate_compiled/2`, but returns the map or raises `ArgumentError`."
  @spec validate_compiled!(term, map) :: map
  def validate_compiled!(opts, plan), do: opts |> validate_compiled(plan) |> ok!()

  # The given options checked, the first of a repeated key kept (as `Keyword.fetch/2`
  # finds it); `:slow` for anything `validate/2` must word.
  defp given([], _rules, acc), do: {:ok, acc}

  defp given([{key, _value} | rest], rules, acc) when is_map_key(acc, key),
    do: given(rest, rules, acc)

  defp given([{key, value} | rest], rules, acc) when is_atom(key) do
    with {:ok, key_rules} <- Map.fetch(rules, key),
         {:ok, normalised} <- check(key, value, key_rules) do
      given(rest, rules, Map.put(acc, key, normalised))
    else
      _ -> :slow
    end
  end

  defp given(_opts, _rules, _acc), do: :slow

  # Computed defaults of options not given, in schema order, each from the values of the
  # options before it.
  defp computed([], _given, acc), do: {:ok, acc}

  defp computed([{key, fun, rules, earlier} | rest], given, acc) do
    if Map.has_key?(given, key) do
      computed(rest, given, acc)
    else
      case check(key, fun.(Map.take(acc, earlier)), rules) do
        {:ok, value} -> computed(rest, given, Map.put(acc, key, value))
        {:error, _} -> :slow
      end
    end
  end

  @doc "Like `validate/2`, but returns the map or raises `ArgumentError` with the message."
  @spec validate!(term, t) :: map
  def validate!(opts, schema), do: opts |> validate(schema) |> ok!()

  defp ok!({:ok, values}), do: values
  defp ok!({:error, message}), do: raise(ArgumentError, message)

  defp value(opts, key, rules, acc) do
    case {Keyword.fetch(opts, key), rules[:default]} do
      {{:ok, given}, _} -> check(key, given, rules)
      {:error, {:computed, _text, fun}} -> check(key, fun.(acc), rules)
      {:error, default} when default != nil -> {:ok, default}
      {:error, nil} -> absent(key, rules, opts)
    end
  end

  defp absent(key, rules, opts) do
    cond do
      rules[:required] ->
        {:error, "required option #{inspect(key)} not given, got: #{inspect(opts)}"}

      Keyword.has_key?(rules, :default) ->
        {:ok, nil}

      true ->
        :absent
    end
  end

  @doc "Checks one value of option `key` against its rules: `{:ok, normalised}` or `{:error, message}`."
  @spec check(atom, term, keyword) :: {:ok, term} | {:error, String.t()}
  def check(key, value, rules) do
    case accept(rules[:type], value) do
      {:ok, normalised} -> {:ok, normalised}
      :error -> {:error, "#{inspect(key)} must be #{allowed(rules)}, got: #{inspect(value)}"}
    end
  end

  defp accept(:any, v), do: {:ok, v}
  defp accept(:boolean, v) when is_boolean(v), do: {:ok, v}
  defp accept(:atom, v) when is_atom(v) and not is_nil(v) and not is_boolean(v), do: {:ok, v}
  defp accept(:pos_integer, v) when is_integer(v) and v > 0, do: {:ok, v}
  defp accept(:non_neg_integer, v) when is_integer(v) and v >= 0, do: {:ok, v}

  defp accept({:int_range, min, max}, v) when is_integer(v) and v >= min and v <= max,
    do: {:ok, v}

  defp accept({:in, values}, v), do: if(v in values, do: {:ok, v}, else: :error)
  defp accept({:custom, fun, _allowed}, v), do: fun.(v)

  defp accept({:or, types}, v),
    do: Enum.find_value(types, :error, &with(:error <- accept(&1, v), do: nil))

  defp accept(_type, _v), do: :error

  @doc "Words for what option `rules` accept: `:allowed` if given, else from the type."
  @spec allowed(keyword) :: String.t()
  def allowed(rules), do: rules[:allowed] || type_text(Keyword.fetch!(rules, :type))

  defp type_text(:any), do: "any term"
  defp type_text(:boolean), do: "a boolean"
  defp type_text(:atom), do: "an atom"
  defp type_text(:pos_integer), do: "a positive integer"
  defp type_text(:non_neg_integer), do: "a non-negative integer"
  defp type_text({:int_range, min, max}), do: "an integer in #{min}..#{max}"
  defp type_text({:in, [value]}), do: inspect(value)
  defp type_text({:in, values}), do: "one of #{inspect(values)}"
  defp type_text({:or, types}), do: Enum.map_join(types, " or ", &type_text/1)
  defp type_text({:custom, _fun, allowed}), do: allowed

  @doc "How the default of option `rules` reads in docs."
  @spec default_text(keyword) :: String.t()
  def default_text(rules) do
    case Keyword.fetch(rules, :default) do
      {:ok, {:computed, text, _fun}} -> text
      {:ok, value} -> "`#{inspect(value)}`"
      :error -> if rules[:required], do: "required", else: "none"
    end
  end

  @doc "A markdown list of the options of `schema`, for `@doc` strings."
  @spec docs(t) :: String.t()
  def docs(schema) do
    Enum.map_join(schema, "\n", fn {key, rules} ->
      default = if rules[:required], do: "required", else: "default #{default_text(rules)}"
      "  * `#{inspect(key)}` (#{allowed(rules)}; #{default}) - #{rules[:doc]}"
    end)
  end

  @doc "A markdown table of the options of `schema`: key, allowed values, default, meaning."
  @spec table(t) :: String.t()
  def table(schema) do
    rows =
      for {key, rules} <- schema do
        "| `#{key}` | #{allowed(rules)} | #{default_text(rules)} | #{rules[:doc]} |"
      end

    Enum.join(
      ["| key | allowed values | default | meaning |", "| --- | --- | --- | --- |" | rows],
      "\n"
    ) <>
      "\n"
  end
end
