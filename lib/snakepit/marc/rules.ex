defmodule Snakepit.Marc.Rules do
  @moduledoc """
  Validation rule sets, compiled once and evaluated natively by `Snakepit.Marc.lint/2` and
  `Snakepit.Marc.lint_stream/2`.

  A rule set is data: a map or keyword list (atom or string keys), or a JSON or TOML file. It
  switches the built-in MARC 21 checks off or re-rates them per code and adds rules:

      iex> rules = Snakepit.Marc.Rules.compile!(
      ...>   disable: ["field.local"],
      ...>   severity: %{"title.nonfiling" => "info"},
      ...>   rules: [
      ...>     [code: "local.035", require: "035", record_types: "acdm"],
      ...>     [code: "local.isbn13", at: "020a", pattern: "^97[89]", severity: "warning"]
      ...>   ]
      ...> )
      iex> "local.035" in Snakepit.Marc.Rules.codes(rules)
      true

  See `docs/validation.md` for every key and every built-in code. A bad rule set raises
  `ArgumentError` saying where:

      iex> Snakepit.Marc.Rules.compile!(rules: [[code: "x", at: "245a", pattern: "("]])
      ** (ArgumentError) invalid rule set: rules[0].pattern: not a valid regular expression: regex parse error:
          (
          ^
      error: unclosed group
  """

  alias Snakepit.Native

  # `ref` is the native compiled form, valid on `node` only; elsewhere it is compiled again
  # from `json`.
  @enforce_keys [:json, :ref, :node, :codes]
  defstruct [:json, :ref, :node, :codes]

  @typedoc "A compiled rule set; opaque, reusable across processes and nodes."
  @opaque t :: %__MODULE__{
            json: String.t(),
            ref: reference,
            node: node(),
            codes: [{String.t(), :error | :warning | :info, boolean}]
          }

  # The rule set's text is parsed natively on a dirty scheduler; this bounds it.
  @max_bytes 1_048_576

  @doc """
  Compiles a rule set: a map or keyword list as described in `docs/validation.md`, or `[]`
  for the built-in checks alone. Raises `ArgumentError` naming where a bad one is wrong.
  """
  @spec compile!(map | keyword) :: t
  def compile!(set \\ [])

  def compile!(set) when is_map(set) or is_list(set) do
    set |> normalise!() |> Snakepit.JSON.encode!() |> from_json!()
  end

  def compile!(other),
    do:
      raise(
        ArgumentError,
        "a rule set is a map or keyword list, got: #{inspect(other, limit: 5)}"
      )

  @doc """
  Reads and compiles a rule set file: TOML when its name ends in `.toml`, else JSON. Raises
  `ArgumentError` naming the file and where in it a bad one is wrong.
  """
  @spec load!(Path.t()) :: t
  def load!(path) when is_binary(path) do
    text =
      case File.read(path) do
        {:ok, text} ->
          text

        {:error, reason} ->
          raise ArgumentError, "cannot read rule set #{path}: #{:file.format_error(reason)}"
      end

    try do
      if String.downcase(Path.extname(path)) == ".toml",
        do: from_toml!(text),
        else: from_json!(text)
    rescue
      e in ArgumentError -> reraise ArgumentError, "#{path}: " <> e.message, __STACKTRACE__
    end
  end

  @doc """
  Compiles a rule set written as TOML text: the same keys as JSON, tables for objects
  (`[severity]`, `[[rules]]`). A syntax error names its line and column.
  """
  @spec from_toml!(String.t()) :: t
  def from_toml!(text) when is_binary(text) and byte_size(text) <= @max_bytes do
    case Native.lint_toml_json(text) do
      {:ok, json} -> from_json!(json)
      {:error, {_path, message}} -> raise ArgumentError, "invalid rule set: " <> message
    end
  end

  # Over the bound: from_json!/1 raises the error saying so.
  def from_toml!(text) when is_binary(text), do: from_json!(text)

  @doc "Compiles a rule set written as JSON text."
  @spec from_json!(String.t()) :: t
  def from_json!(text), do: from_json!(text, nil, [])

  defp from_json!(text, only, except) when is_binary(text) and byte_size(text) <= @max_bytes do
    case Native.lint_compile(text, only, except) do
      {:ok, ref, codes} ->
        %__MODULE__{json: text, ref: ref, node: node(), codes: codes}

      {:error, {"", message}} ->
        raise ArgumentError, "invalid rule set: " <> message

      {:error, {path, message}} ->
        raise ArgumentError, "invalid rule set: #{path}: #{message}"
    end
  end

  defp from_json!(text, _only, _except) when is_binary(text),
    do:
      raise(
        ArgumentError,
        "a rule set is at most #{@max_bytes} bytes, got: #{byte_size(text)} bytes"
      )

  @doc "Every code `rules` can report (built-in first), switched off ones included."
  @spec codes(t) :: [String.t()]
  def codes(%__MODULE__{codes: codes}), do: Enum.map(codes, &elem(&1, 0))

  @doc "The codes `rules` reports, with their severities."
  @spec enabled(t) :: [{String.t(), :error | :warning | :info}]
  def enabled(%__MODULE__{codes: codes}),
    do: for({name, severity, true} <- codes, do: {name, severity})

  @doc false
  # The native resource: the set's own on the node that compiled it, else compiled again.
  def ref(%__MODULE__{node: node, ref: ref}) when node == node(), do: ref
  def ref(%__MODULE__{json: json}), do: from_json!(json).ref

  @doc false
  # `rules` with the `only:`/`except:` options of lint/2 applied (after the set's own
  # `disable` and `only`): compiled again from its text, a few microseconds.
  def with_filters(%__MODULE__{} = rules, nil, []), do: rules

  def with_filters(%__MODULE__{json: json}, only, except), do: from_json!(json, only, except)

  defp normalise!(set) when is_map(set),
    do: Map.new(set, fn {k, v} -> {key!(k), value(v)} end)

  defp normalise!(set) when is_list(set) do
    if Keyword.keyword?(set) do
      normalise!(Map.new(set))
    else
      raise ArgumentError, "a rule set is a map or keyword list, got: #{inspect(set, limit: 5)}"
    end
  end

  defp value([{k, _} | _] = kw) when is_atom(k), do: normalise!(kw)
  defp value(list) when is_list(list), do: Enum.map(list, &value/1)
  defp value(map) when is_map(map), do: normalise!(map)
  defp value(other), do: other

  defp key!(k) when is_atom(k), do: Atom.to_string(k)
  defp key!(k) when is_binary(k), do: k

  defp key!(k),
    do: raise(ArgumentError, "rule set keys are atoms or strings, got: #{inspect(k)}")
end
