defmodule Snakepit.Marc.Field do
  @moduledoc """
  One MARC field: a **control field** (tags `001`-`009`: a `tag` and a `value`) or a
  **data field** (a `tag`, two indicators `ind1`/`ind2` and ordered `subfields`, each a
  `{code, value}` pair of binaries).

  Values read from a file are sub-binaries of their record's bytes: nothing is copied per
  field, and a field keeps only its own record's bytes alive.

  Fields implement `Access`: `field["a"]` is the first `$a` value (or `nil`).

      iex> field = Snakepit.Marc.Field.data("245", "1", "0", [{"a", "Moby Dick /"}, {"c", "Herman Melville."}])
      iex> field["a"]
      "Moby Dick /"
      iex> Snakepit.Marc.Field.subfields(field, "c")
      ["Herman Melville."]
  """

  @behaviour Access

  alias Snakepit.Marc.FieldCheck

  defstruct tag: nil, ind1: nil, ind2: nil, subfields: [], value: nil

  @type code :: binary
  @type t :: %__MODULE__{
          tag: binary,
          ind1: binary | nil,
          ind2: binary | nil,
          subfields: [{code, binary}],
          value: binary | nil
        }

  @doc """
  Builds a control field. The tag is `001`-`009` (`000` too) and the value holds none of
  0x1D, 0x1E, 0x1F; anything else raises `ArgumentError` naming the value and the rule.

      iex> Snakepit.Marc.Field.control("001", "12345")
      %Snakepit.Marc.Field{tag: "001", value: "12345"}
      iex> Snakepit.Marc.Field.control("245", "x")
      ** (ArgumentError) a control field's tag must be 00 followed by a digit (001-009), got: "245"
  """
  @spec control(binary, binary) :: t
  def control(tag, value),
    do: %__MODULE__{tag: FieldCheck.control_tag!(tag), value: FieldCheck.value!(value)}

  @doc """
  Builds a data field from its tag, indicators and `{code, value}` subfields.

  The tag is three ASCII letters or digits and not `000`-`009`; indicators and codes are
  exactly one ASCII byte; no value holds 0x1D, 0x1E or 0x1F. Anything else raises
  `ArgumentError` naming the value and the rule. (UTF-8 is checked when the field is put
  in a record, which knows its character coding: see `Snakepit.Marc.Record.add_field/2`.)

      iex> Snakepit.Marc.Field.data("650", " ", "0", [{"a", "Whales"}]).ind2
      "0"
      iex> Snakepit.Marc.Field.data("245", "10", " ", [{"a", "Title"}])
      ** (ArgumentError) an indicator must be exactly one ASCII byte other than 0x1D, 0x1E and 0x1F, got: "10"
  """
  @spec data(binary, binary, binary, [{code, binary}]) :: t
  def data(tag, ind1 \\ " ", ind2 \\ " ", subfields) do
    %__MODULE__{
      tag: FieldCheck.data_tag!(tag),
      ind1: FieldCheck.indicator!(ind1),
      ind2: FieldCheck.indicator!(ind2),
      subfields: FieldCheck.subfields!(subfields)
    }
  end

  @doc """
  `true` for control fields (they carry a `value` and no subfields).

      iex> Snakepit.Marc.Field.control?(Snakepit.Marc.Field.control("008", "x"))
      true
  """
  @spec control?(t) :: boolean
  def control?(%__MODULE__{value: value}), do: is_binary(value)

  @doc """
  The values of every subfield with `code` (a one-byte binary), in order. With a list of
  codes, the values of any of them, in field order.
  """
  @spec subfields(t, code | [code]) :: [binary]
  def subfields(%__MODULE__{subfields: subfields}, codes) when is_list(codes),
    do: for({code, value} <- subfields, code in codes, do: value)

  def subfields(%__MODULE__{subfields: subfields}, code) when is_binary(code),
    do: for({^code, value} <- subfields, do: value)

  @doc """
  The field's text: a control field's value, or a data field's subfield values joined with
  a space (pymarc's `value()`).

      iex> Snakepit.Marc.Field.value(Snakepit.Marc.Field.data("650", [{"a", "Whales"}, {"v", "Fiction."}]))
      "Whales Fiction."
  """
  @spec value(t) :: binary
  def value(%__MODULE__{value: value}) when is_binary(value), do: value
  # One subfield: its value as it is, no copy.
  def value(%__MODULE__{subfields: [{_, value}]}), do: value
  def value(%__MODULE__{subfields: []}), do: ""

  def value(%__MODULE__{subfields: [{_, first} | rest]}),
    do: IO.iodata_to_binary([first | spaced(rest)])

  defp spaced([]), do: []
  defp spaced([{_, value} | rest]), do: [?\s, value | spaced(rest)]

  @doc """
  Adds a subfield: at the end, or before the subfield at `position` (0-based; a negative
  position counts from the end, as `List.insert_at/3`). The code and value are checked as
  by `data/4`.

      iex> field = Snakepit.Marc.Field.data("650", " ", "0", [{"a", "Whales"}])
      iex> field |> Snakepit.Marc.Field.add_subfield("v", "Fiction.") |> Snakepit.Marc.Field.value()
      "Whales Fiction."
      iex> field |> Snakepit.Marc.Field.add_subfield("6", "880-01", 0) |> Map.get(:subfields)
      [{"6", "880-01"}, {"a", "Whales"}]
  """
  @spec add_subfield(t, code, binary, integer | nil) :: t
  def add_subfield(field, code, value, position \\ nil)

  def add_subfield(%__MODULE__{value: nil, subfields: subfields} = field, code, value, position)
      when is_nil(position) or is_integer(position) do
    subfield = FieldCheck.subfield!({code, value})

    subfields =
      if position == nil,
        do: subfields ++ [subfield],
        else: List.insert_at(subfields, position, subfield)

    %{field | subfields: subfields}
  end

  def add_subfield(field, _code, _value, position), do: not_editable!(field, position)

  @doc """
  Removes the subfields with a code, with any of a list of codes, or for which a predicate
  on `{code, value}` is true.

      iex> field = Snakepit.Marc.Field.data("020", [{"a", "0201616220"}, {"q", "pbk."}, {"c", "$39.95"}])
      iex> Snakepit.Marc.Field.delete_subfields(field, "q").subfields
      [{"a", "0201616220"}, {"c", "$39.95"}]
      iex> Snakepit.Marc.Field.delete_subfields(field, ["q", "c"]).subfields
      [{"a", "0201616220"}]
      iex> Snakepit.Marc.Field.delete_subfields(field, fn {_code, value} -> value =~ "$" end).subfields
      [{"a", "0201616220"}, {"q", "pbk."}]
  """
  @spec delete_subfields(t, code | [code] | ({code, binary} -> as_boolean(term))) :: t
  def delete_subfields(%__MODULE__{value: nil, subfields: subfields} = field, which) do
    selected? = subfield_selector!(which)
    %{field | subfields: Enum.reject(subfields, selected?)}
  end

  def delete_subfields(field, which), do: not_editable!(field, which)

  @doc """
  Replaces the value of each subfield with a code (or any of a list of codes, or for which
  a predicate on `{code, value}` is true) by `fun.(value)`, checked as by `data/4`.

      iex> field = Snakepit.Marc.Field.data("245", "1", "0", [{"a", "Moby Dick /"}, {"c", "Herman Melville."}])
      iex> Snakepit.Marc.Field.update_subfields(field, "a", &String.trim_trailing(&1, " /")).subfields
      [{"a", "Moby Dick"}, {"c", "Herman Melville."}]
  """
  @spec update_subfields(
          t,
          code | [code] | ({code, binary} -> as_boolean(term)),
          (binary ->
             binary)
        ) ::
          t
  def update_subfields(%__MODULE__{value: nil, subfields: subfields} = field, which, fun)
      when is_function(fun, 1) do
    selected? = subfield_selector!(which)

    subfields =
      Enum.map(subfields, fn {code, value} = subfield ->
        if selected?.(subfield), do: {code, FieldCheck.value!(fun.(value))}, else: subfield
      end)

    %{field | subfields: subfields}
  end

  def update_subfields(field, which, _fun), do: not_editable!(field, which)

  @doc """
  Sets both indicators, checked as by `data/4`.

      iex> field = Snakepit.Marc.Field.data("245", "1", "0", [{"a", "The whale"}])
      iex> Snakepit.Marc.Field.put_indicators(field, "1", "4") |> Map.take([:ind1, :ind2])
      %{ind1: "1", ind2: "4"}
  """
  @spec put_indicators(t, binary, binary) :: t
  def put_indicators(%__MODULE__{value: nil} = field, ind1, ind2),
    do: %{field | ind1: FieldCheck.indicator!(ind1), ind2: FieldCheck.indicator!(ind2)}

  def put_indicators(field, ind1, _ind2), do: not_editable!(field, ind1)

  defp subfield_selector!(code) when is_binary(code) do
    FieldCheck.code!(code)
    fn {c, _} -> c == code end
  end

  defp subfield_selector!(codes) when is_list(codes) do
    Enum.each(codes, &FieldCheck.code!/1)
    fn {c, _} -> c in codes end
  end

  defp subfield_selector!(fun) when is_function(fun, 1), do: fn subfield -> !!fun.(subfield) end

  defp subfield_selector!(other) do
    raise ArgumentError,
          "expected a subfield code, a list of codes or a one-argument predicate, got: " <>
            inspect(other)
  end

  defp not_editable!(%__MODULE__{tag: tag, value: value}, _arg) when is_binary(value) do
    raise ArgumentError,
          "field #{tag} is a control field: it has a value, no indicators or subfields"
  end

  defp not_editable!(%__MODULE__{}, arg) do
    raise ArgumentError, "expected a position (integer), got: #{inspect(arg)}"
  end

  defp not_editable!(other, _arg) do
    raise ArgumentError, "expected a %Snakepit.Marc.Field{}, got: #{inspect(other, limit: 5)}"
  end

  @impl Access
  def fetch(%__MODULE__{subfields: subfields}, code) when is_binary(code) do
    case List.keyfind(subfields, code, 0) do
      {_, value} -> {:ok, value}
      nil -> :error
    end
  end

  @impl Access
  def get_and_update(%__MODULE__{subfields: subfields} = field, code, fun) do
    case fun.(Access.get(field, code)) do
      {current, nil} ->
        {current, %{field | subfields: List.keydelete(subfields, code, 0)}}

      {current, new} ->
        {code, new} = FieldCheck.subfield!({code, new})
        {current, %{field | subfields: put_first(subfields, code, new)}}

      :pop ->
        pop(field, code)
    end
  end

  @impl Access
  def pop(%__MODULE__{subfields: subfields} = field, code) do
    case List.keytake(subfields, code, 0) do
      {{_, value}, rest} -> {value, %{field | subfields: rest}}
      nil -> {nil, field}
    end
  end

  defp put_first(subfields, code, value) do
    if List.keymember?(subfields, code, 0),
      do: List.keyreplace(subfields, code, 0, {code, value}),
      else: subfields ++ [{code, value}]
  end
end
