defmodule Snakepit.Marc.Record do
  @moduledoc """
  A MARC record: its 24-byte `leader` and its `fields` in order.

  Records implement `Access`: `record["245"]` is the first 245 field (or `nil`), so
  `record["245"]["a"]` is its first `$a`.

      iex> record = %Snakepit.Marc.Record{
      ...>   leader: "00000nam a2200000 a 4500",
      ...>   fields: [
      ...>     Snakepit.Marc.Field.control("001", "42"),
      ...>     Snakepit.Marc.Field.data("245", "1", "0", [{"a", "Moby Dick /"}, {"c", "Herman Melville."}])
      ...>   ]
      ...> }
      iex> record["245"]["a"]
      "Moby Dick /"
      iex> Snakepit.Marc.Record.title(record)
      "Moby Dick /"

  The helpers below (`title/1`, `author/1`, `isbn/1`, `issn/1`, `subjects/1`,
  `publisher/1`, `pubyear/1`) follow pymarc's and mrrc's conventions.
  """

  @behaviour Access

  alias Snakepit.Marc.Field

  defstruct leader: nil, fields: [], repairs: []

  @type tag :: binary
  @type t :: %__MODULE__{leader: binary, fields: [Field.t()]}

  @doc """
  Every field with the tag (or any of the tags), in record order.

      iex> record = %Snakepit.Marc.Record{leader: "", fields: [
      ...>   Snakepit.Marc.Field.data("650", [{"a", "Whales"}]),
      ...>   Snakepit.Marc.Field.data("651", [{"a", "Pacific Ocean"}]),
      ...>   Snakepit.Marc.Field.data("650", [{"a", "Sea stories"}])]}
      iex> record |> Snakepit.Marc.Record.fields("650") |> Enum.map(& &1["a"])
      ["Whales", "Sea stories"]
      iex> record |> Snakepit.Marc.Record.fields(["650", "651"]) |> length()
      3
  """
  @spec fields(t, tag | [tag]) :: [Field.t()]
  def fields(%__MODULE__{fields: fields}, tags) when is_list(tags),
    do: Enum.filter(fields, &(&1.tag in tags))

  def fields(%__MODULE__{fields: fields}, tag) when is_binary(tag),
    do: Enum.filter(fields, &(&1.tag == tag))

  @doc "The first field with `tag`, or `nil`."
  @spec field(t, tag) :: Field.t() | nil
  def field(%__MODULE__{fields: fields}, tag), do: first_field(fields, tag)

  @doc """
  Title proper: 245 `$a`, followed by `$b` (remainder of title) when present.
  """
  @spec title(t) :: binary | nil
  def title(%__MODULE__{fields: fields}) do
    case first_field(fields, "245") do
      %Field{subfields: subfields} -> join_title(subfields, [])
      nil -> nil
    end
  end

  # $a and $b, trimmed, joined by one space; nil when there is neither. Hot in ingest
  # loops, so it walks the subfields once and builds iodata.
  defp join_title([], []), do: nil
  defp join_title([], [_sep | parts]), do: parts |> Enum.reverse() |> IO.iodata_to_binary()

  defp join_title([{code, value} | rest], acc) when code in ["a", "b"],
    do: join_title(rest, [" ", trim_ascii(value) | acc])

  defp join_title([_ | rest], acc), do: join_title(rest, acc)

  defp first_field([%Field{tag: tag} = field | _], tag), do: field
  defp first_field([_ | rest], tag), do: first_field(rest, tag)
  defp first_field([], _tag), do: nil

  # Spaces around MARC values are ASCII; String.trim/1's Unicode tables are not needed.
  defp trim_ascii(<<c, rest::binary>>) when c in [?\s, ?\t, ?\n, ?\r], do: trim_ascii(rest)
  defp trim_ascii(value), do: trim_trailing(value, byte_size(value))

  defp trim_trailing(value, 0), do: binary_part(value, 0, 0)

  defp trim_trailing(value, n) do
    if :binary.at(value, n - 1) in [?\s, ?\t, ?\n, ?\r],
      do: trim_trailing(value, n - 1),
      else: binary_part(value, 0, n)
  end

  @doc "Main entry: 100, 110 or 111 `$a`, the first present."
  @spec author(t) :: binary | nil
  def author(record), do: first_value(record, ["100", "110", "111"], "a")

  @doc """
  The first ISBN: 020 `$a` reduced to its number (10 or 13 characters, final `X` kept).

      iex> record = %Snakepit.Marc.Record{leader: "", fields: [Snakepit.Marc.Field.data("020", [{"a", "0-201-61622-X (pbk.)"}])]}
      iex> Snakepit.Marc.Record.isbn(record)
      "020161622X"
  """
  @spec isbn(t) :: binary | nil
  def isbn(record) do
    Enum.find_value(fields(record, "020"), fn field ->
      Enum.find_value(Field.subfields(field, "a"), &normalise_isbn/1)
    end)
  end

  defp normalise_isbn(text) do
    case Regex.run(~r/^\s*([0-9][0-9\-\s]{8,16}[0-9Xx])\b/, text) do
      [_, number] -> number |> String.replace(["-", " "], "") |> String.upcase()
      nil -> nil
    end
  end

  @doc "022 `$a`."
  @spec issn(t) :: binary | nil
  def issn(record), do: first_value(record, ["022"], "a")

  @doc """
  Subject access fields (600-699), in record order: pymarc's `subjects`.
  """
  @spec subjects(t) :: [Field.t()]
  def subjects(%__MODULE__{fields: fields}),
    do: Enum.filter(fields, fn %Field{tag: tag} -> tag >= "600" and tag <= "699" end)

  @doc "Publisher: 260 `$b`, else 264 `$b` (a 264 with second indicator 1, publication)."
  @spec publisher(t) :: binary | nil
  def publisher(record), do: publication_value(record, "b")

  @doc """
  Year of publication: the first four-digit year in 260 `$c` or 264 `$c`.

      iex> record = %Snakepit.Marc.Record{leader: "", fields: [Snakepit.Marc.Field.data("260", [{"b", "Harper,"}, {"c", "c1851."}])]}
      iex> {Snakepit.Marc.Record.publisher(record), Snakepit.Marc.Record.pubyear(record)}
      {"Harper,", "1851"}
  """
  @spec pubyear(t) :: binary | nil
  def pubyear(record) do
    with value when is_binary(value) <- publication_value(record, "c") do
      case Regex.run(~r/\d{4}/, value) do
        [year] -> year
        nil -> String.trim(value)
      end
    end
  end

  defp publication_value(record, code) do
    first_value(record, ["260"], code) ||
      Enum.find_value(fields(record, "264"), fn
        %Field{ind2: "1"} = f -> f[code]
        _ -> nil
      end) ||
      first_value(record, ["264"], code)
  end

  defp first_value(record, tags, code) do
    Enum.find_value(fields(record, tags), fn field -> field[code] end)
  end

  @impl Access
  def fetch(record, tag) when is_binary(tag) do
    case field(record, tag) do
      nil -> :error
      field -> {:ok, field}
    end
  end

  @impl Access
  def get_and_update(%__MODULE__{fields: fields} = record, tag, fun) do
    case fun.(Access.get(record, tag)) do
      {current, nil} -> {current, %{record | fields: delete_first(fields, tag)}}
      {current, %Field{} = new} -> {current, %{record | fields: replace_first(fields, tag, new)}}
      :pop -> pop(record, tag)
    end
  end

  @impl Access
  def pop(%__MODULE__{fields: fields} = record, tag) do
    case Enum.find_index(fields, &(&1.tag == tag)) do
      nil -> {nil, record}
      i -> {Enum.at(fields, i), %{record | fields: List.delete_at(fields, i)}}
    end
  end

  defp delete_first(fields, tag) do
    case Enum.find_index(fields, &(&1.tag == tag)) do
      nil -> fields
      i -> List.delete_at(fields, i)
    end
  end

  defp replace_first(fields, tag, new) do
    case Enum.find_index(fields, &(&1.tag == tag)) do
      nil -> fields ++ [new]
      i -> List.replace_at(fields, i, new)
    end
  end
end
