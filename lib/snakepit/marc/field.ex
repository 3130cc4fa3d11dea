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
  Builds a control field.

      iex> Snakepit.Marc.Field.control("001", "12345")
      %Snakepit.Marc.Field{tag: "001", value: "12345"}
  """
  @spec control(binary, binary) :: t
  def control(tag, value) when byte_size(tag) == 3 and is_binary(value),
    do: %__MODULE__{tag: tag, value: value}

  @doc "Builds a data field from its tag, indicators and `{code, value}` subfields."
  @spec data(binary, binary, binary, [{code, binary}]) :: t
  def data(tag, ind1 \\ " ", ind2 \\ " ", subfields)
      when byte_size(tag) == 3 and byte_size(ind1) == 1 and byte_size(ind2) == 1 and
             is_list(subfields),
      do: %__MODULE__{tag: tag, ind1: ind1, ind2: ind2, subfields: subfields}

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
