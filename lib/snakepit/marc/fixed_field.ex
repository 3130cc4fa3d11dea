defmodule Snakepit.Marc.FixedField do
  @moduledoc """
  One decoded 006, 007 or 008: every character position with its name, raw value and code
  label, from the MARC 21 tables of `Snakepit.Marc.MARC21`.

      iex> f = Snakepit.Marc.FixedField.decode_007("ta")
      iex> {f.type, Enum.map(f.positions, &{&1.name, &1.label})}
      {"Text", [{"Category of material", "Text"}, {"Specific material designation", "Regular print"}]}

  Fields:

    * `tag` - `"006"`, `"007"` or `"008"`.
    * `type` - the layout used: a material type (`:books`, `:maps`, ...) for 006 and 008,
      the category's name (`"Map"`, `"Electronic resource"`, ...) for 007; `nil` when the
      field's own type byte (006/00, 007/00) is undefined.
    * `value` - the field's data, as it is.
    * `positions` - one entry per position in order, undefined ones included:
      `%{start:, end:, name:, value:, label:, codes:}` (`end` exclusive). `value` is the raw
      characters (`nil` past the end of a short field). `label` is the meaning of the whole
      value when it is one code (or units that all mean the same: `"    "`, no
      illustrations), the language or country name of 008/35-37 and 15-17, else `nil`. `codes` lists each code the position holds, `%{code:, label:, obsolete:}`
      (`label` `nil` when undefined): one for an ordinary coded position, one per unit of a
      repeatable one (008/24-27 of books holds up to four), none for data (dates).
    * `issues` - what does not conform, as data (decoding never raises):
      `%{problem: :wrong_length, expected:, actual:}`,
      `%{problem: :undefined_code, start:, name:, value:}`,
      `%{problem: :obsolete_code, start:, name:, value:}`,
      `%{problem: :value_in_undefined_position, start:, value:}`,
      `%{problem: :undefined_type, start: 0, value:}` (006/00 or 007/00).
  """

  alias Snakepit.Marc.MARC21

  defstruct [:tag, :type, :value, positions: [], issues: []]

  @type entry :: %{
          start: non_neg_integer,
          end: pos_integer,
          name: binary,
          value: binary | nil,
          label: binary | nil,
          codes: [%{code: binary, label: binary | nil, obsolete: boolean}]
        }
  @type t :: %__MODULE__{
          tag: binary,
          type: MARC21.material() | binary | nil,
          value: binary,
          positions: [entry],
          issues: [map]
        }

  # Data positions whose values come from a code list the schema does not attach to them.
  @position_lists %{{"008", 15} => :countries, {"008", 35} => :languages}

  @doc """
  Decodes an 008 by the material type of its record (`Snakepit.Marc.Record.material_type/1`).

      iex> f = Snakepit.Marc.FixedField.decode_008("920219s1993    caua   j      000 0 eng d", :books)
      iex> Enum.map(Enum.filter(f.positions, &(&1.start in [6, 7, 15, 22, 35])), &{&1.name, &1.value, &1.label})
      [{"Type of date/Publication status", "s", "Single known date/probable date"},
       {"Date 1", "1993", nil},
       {"Place of publication, production, or execution", "cau", "California"},
       {"Target audience", "j", "Juvenile"},
       {"Language", "eng", "English"}]
      iex> f.issues
      []
  """
  @spec decode_008(binary, MARC21.material()) :: t
  def decode_008(value, material) when is_binary(value) and is_atom(material) do
    decode_layout("008", material, MARC21.layout_008(material), value)
  end

  @doc """
  Decodes an 006 by its form of material (006/00).

      iex> f = Snakepit.Marc.FixedField.decode_006("m     o  d        ")
      iex> {f.type, Enum.find(f.positions, &(&1.start == 6)).label}
      {:computer_files, "Online"}
      iex> Snakepit.Marc.FixedField.decode_006("b").issues
      [%{problem: :undefined_type, start: 0, value: "b"}]
  """
  @spec decode_006(binary) :: t
  def decode_006(value) when is_binary(value) do
    form = binary_part(value, 0, min(byte_size(value), 1))

    case MARC21.material_type_006(form) do
      nil -> undefined_type("006", MARC21.layout_006(:books), value, form)
      material -> decode_layout("006", material, MARC21.layout_006(material), value)
    end
  end

  @doc """
  Decodes an 007 by its category of material (007/00).

      iex> f = Snakepit.Marc.FixedField.decode_007("cr |||||||||")
      iex> {f.type, Enum.at(f.positions, 1).label, f.issues}
      {"Electronic resource", "Remote", [%{problem: :wrong_length, expected: 14, actual: 12}]}
  """
  @spec decode_007(binary) :: t
  def decode_007(value) when is_binary(value) do
    category = binary_part(value, 0, min(byte_size(value), 1))

    case MARC21.layout_007(category) do
      nil -> undefined_type("007", MARC21.layout_007("z"), value, category)
      layout -> decode_layout("007", layout.type, layout, value)
    end
  end

  # Only the type byte is decoded: the rest has no layout.
  defp undefined_type(tag, layout, value, type_byte) do
    [first | _] = layout.positions
    {[entry], _} = entries(tag, %{layout | positions: [first], length: 1}, value)

    %__MODULE__{
      tag: tag,
      type: nil,
      value: value,
      positions: [entry],
      issues: [%{problem: :undefined_type, start: 0, value: type_byte}]
    }
  end

  defp decode_layout(tag, type, layout, value) do
    {positions, issues} = entries(tag, layout, value)
    issues = length_issue(layout.length, value) ++ issues
    %__MODULE__{tag: tag, type: type, value: value, positions: positions, issues: issues}
  end

  @doc false
  # [] or the wrong-length issue, shared with Snakepit.Marc.Leader.
  def length_issue(expected, value) when byte_size(value) == expected, do: []

  def length_issue(expected, value),
    do: [%{problem: :wrong_length, expected: expected, actual: byte_size(value)}]

  @doc false
  # {entries, issues} for every position of a layout, undefined ones included; shared with
  # Snakepit.Marc.Leader.
  def entries(tag, layout, value), do: walk(layout.positions, 0, layout, tag, value, [], [])

  # One pass over the layout: defined positions, and the undefined ones between them.
  defp walk([%{start: start} | _] = positions, at, layout, tag, value, acc, issues)
       when at < start,
       do: undefined(positions, at, layout, tag, value, acc, issues)

  defp walk([pos | rest], _at, layout, tag, value, acc, issues) do
    raw = slice(value, pos.start, pos.end)
    {label, codes} = decode_value(Map.get(@position_lists, {tag, pos.start}), pos, raw)

    entry = %{
      start: pos.start,
      end: pos.end,
      name: pos.label,
      value: raw,
      label: label,
      codes: codes
    }

    walk(rest, pos.end, layout, tag, value, [entry | acc], code_issues(entry, issues))
  end

  defp walk([], at, %{length: length} = layout, tag, value, acc, issues) when at < length,
    do: undefined([], at, layout, tag, value, acc, issues)

  defp walk([], _at, _layout, _tag, _value, acc, issues),
    do: {Enum.reverse(acc), Enum.reverse(issues)}

  # Undefined positions hold a blank or the fill character.
  defp undefined(positions, at, layout, tag, value, acc, issues) do
    raw = slice(value, at, at + 1)
    entry = %{start: at, end: at + 1, name: "Undefined", value: raw, label: nil, codes: []}

    issues =
      if raw in [nil, " ", "|"],
        do: issues,
        else: [%{problem: :value_in_undefined_position, start: at, value: raw} | issues]

    walk(positions, at + 1, layout, tag, value, [entry | acc], issues)
  end

  defp decode_value(_list, _pos, nil), do: {nil, []}

  defp decode_value(nil, %{codes: []}, _raw), do: {nil, []}

  defp decode_value(nil, pos, raw) do
    codes =
      for unit <- MARC21.units(pos, raw) do
        case MARC21.lookup_position(pos, unit) do
          nil -> %{code: unit, label: nil, obsolete: false}
          code -> %{code: unit, label: code.label, obsolete: code.obsolete}
        end
      end

    # One meaning for the whole value: one code, or units that all mean the same ("    ",
    # no illustrations).
    label =
      case Enum.uniq_by(codes, & &1.label) do
        [%{label: label}] -> label
        _ -> nil
      end

    {label, codes}
  end

  # A code-list position: fill characters mean no attempt to code.
  defp decode_value(list, _pos, raw) do
    code =
      cond do
        fill?(raw) ->
          %{code: raw, label: "No attempt to code", obsolete: false}

        found = lookup_list(list, raw) ->
          %{code: raw, label: found.label, obsolete: found.obsolete}

        true ->
          %{code: raw, label: nil, obsolete: false}
      end

    {code.label, [code]}
  end

  defp fill?(<<?|>>), do: true
  defp fill?(<<?|, rest::binary>>), do: fill?(rest)
  defp fill?(_raw), do: false

  defp lookup_list(:countries, raw), do: MARC21.country(raw)
  defp lookup_list(:languages, raw), do: MARC21.language(raw)

  # Issues of a defined position's codes, prepended (in reverse) to `issues`.
  defp code_issues(%{codes: codes, start: start, name: name}, issues) do
    Enum.reduce(codes, issues, fn
      %{label: nil, code: code}, acc ->
        [%{problem: :undefined_code, start: start, name: name, value: code} | acc]

      %{obsolete: true, code: code}, acc ->
        [%{problem: :obsolete_code, start: start, name: name, value: code} | acc]

      _, acc ->
        acc
    end)
  end

  defp slice(value, from, _to) when byte_size(value) <= from, do: nil
  defp slice(value, from, to), do: binary_part(value, from, min(to, byte_size(value)) - from)
end
