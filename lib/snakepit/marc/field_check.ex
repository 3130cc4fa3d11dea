defmodule Snakepit.Marc.FieldCheck do
  # The one check of values that go into fields, shared by the constructors
  # (`Field.control/2`, `Field.data/4`) and every editing function of `Field` and `Record`:
  # a bad value is refused where it is put in, with an ArgumentError naming the value and
  # the rule, rather than when the record is encoded. The encoder (native, `encode.rs`)
  # still checks everything it writes, for records built as bare structs.
  @moduledoc false

  alias Snakepit.Marc.Field

  @delimiters [0x1D, 0x1E, 0x1F]

  @doc "A tag: three ASCII letters or digits."
  def tag!(<<a, b, c>> = tag) do
    if alphanumeric?(a) and alphanumeric?(b) and alphanumeric?(c),
      do: tag,
      else: bad_tag!(tag)
  end

  def tag!(tag), do: bad_tag!(tag)

  @doc "A control field's tag: 001-009 (and 000, which ISO 2709 reads as one too)."
  def control_tag!(tag) do
    case tag!(tag) do
      <<"00", d>> when d in ?0..?9 ->
        tag

      _ ->
        raise ArgumentError,
              "a control field's tag must be 00 followed by a digit (001-009), got: " <>
                inspect(tag)
    end
  end

  @doc "A data field's tag: any tag but 000-009, which are control fields."
  def data_tag!(tag) do
    case tag!(tag) do
      <<"00", d>> when d in ?0..?9 ->
        raise ArgumentError,
              "tags 000-009 are control fields (a value, no indicators or subfields); " <>
                "a data field needs another tag, got: #{inspect(tag)}"

      _ ->
        tag
    end
  end

  @doc "An indicator: exactly one ASCII byte that is not a delimiter."
  def indicator!(ind), do: one_byte!(ind, "an indicator")

  @doc "A subfield code: exactly one ASCII byte that is not a delimiter."
  def code!(code), do: one_byte!(code, "a subfield code")

  @doc "A value: a binary holding none of 0x1D, 0x1E, 0x1F."
  def value!(value) when is_binary(value) do
    case delimiter_at(value, 0) do
      nil ->
        value

      at ->
        raise ArgumentError,
              "a value cannot hold 0x#{hex(:binary.at(value, at))} (#{delimiter(:binary.at(value, at))}) " <>
                "at byte #{at}: it would end the subfield, field or record when written, " <>
                "got: #{inspect(value, binaries: :as_strings, printable_limit: 80)}"
    end
  end

  def value!(value) do
    raise ArgumentError, "a value must be a binary, got: #{inspect(value, limit: 5)}"
  end

  @doc "Subfields: a list of `{code, value}`, each checked."
  def subfields!(subfields) when is_list(subfields) do
    # Checked, not rebuilt: the list given is the list kept.
    Enum.each(subfields, &subfield!/1)
    subfields
  end

  def subfields!(other) do
    raise ArgumentError,
          "subfields must be a list of {code, value} tuples, got: #{inspect(other, limit: 5)}"
  end

  def subfield!({code, value}), do: {code!(code), value!(value)}

  def subfield!(other) do
    raise ArgumentError,
          "a subfield must be a {code, value} tuple, got: #{inspect(other, limit: 5)}"
  end

  @doc """
  A whole field, as the editing functions of `Record` take it: well formed, and valid UTF-8
  when the record's leader/09 is `a`.
  """
  def field!(%Field{value: value, subfields: subfields, ind1: nil, ind2: nil} = field, leader)
      when is_binary(value) and subfields in [nil, []] do
    control_tag!(field.tag)
    value!(value)
    utf8!(field, leader)
  end

  def field!(%Field{value: nil, subfields: subfields} = field, leader) do
    data_tag!(field.tag)
    indicator!(field.ind1)
    indicator!(field.ind2)
    subfields!(subfields)
    utf8!(field, leader)
  end

  def field!(%Field{} = field, _leader) do
    raise ArgumentError,
          "a field has either a binary value (a control field) or indicators and subfields " <>
            "(a data field), got: #{inspect(field, limit: 5)}"
  end

  def field!(other, _leader) do
    raise ArgumentError, "expected a %Snakepit.Marc.Field{}, got: #{inspect(other, limit: 5)}"
  end

  @doc "A leader: 24 bytes, no delimiter."
  def leader!(<<_::binary-size(24)>> = leader) do
    case delimiter_at(leader, 0) do
      nil ->
        leader

      at ->
        raise ArgumentError,
              "a leader cannot hold 0x1D, 0x1E or 0x1F (leader/#{at}), got: #{inspect(leader)}"
    end
  end

  def leader!(other) do
    raise ArgumentError, "a leader is a 24-byte binary, got: #{inspect(other, limit: 5)}"
  end

  # Leader/09 `a` says the record is UTF-8: its values must be valid UTF-8.
  defp utf8!(field, <<_::binary-size(9), ?a, _::binary>>) do
    values = if field.value, do: [field.value], else: Enum.map(field.subfields, &elem(&1, 1))

    case Enum.find(values, &(not String.valid?(&1))) do
      nil ->
        field

      bad ->
        raise ArgumentError,
              "the record is UTF-8 (leader/09 = a) but this #{field.tag} value is not valid " <>
                "UTF-8: #{inspect(bad, binaries: :as_strings, printable_limit: 80)}"
    end
  end

  defp utf8!(field, _leader), do: field

  # A byte loop: faster than :binary.match/2, which compiles its pattern on every call,
  # for the short values fields hold.
  defp delimiter_at(<<b, _::binary>>, at) when b in @delimiters, do: at
  defp delimiter_at(<<_, rest::binary>>, at), do: delimiter_at(rest, at + 1)
  defp delimiter_at(<<>>, _at), do: nil

  defp one_byte!(<<b>> = byte, _what) when b < 0x80 and b not in @delimiters, do: byte

  defp one_byte!(other, what) do
    raise ArgumentError,
          "#{what} must be exactly one ASCII byte other than 0x1D, 0x1E and 0x1F, got: " <>
            inspect(other, binaries: :as_strings, limit: 5)
  end

  defp bad_tag!(tag) do
    raise ArgumentError,
          "a tag must be three ASCII letters or digits, got: #{inspect(tag, limit: 5)}"
  end

  defp alphanumeric?(c), do: c in ?0..?9 or c in ?A..?Z or c in ?a..?z

  defp hex(b), do: b |> Integer.to_string(16) |> String.pad_leading(2, "0")

  defp delimiter(0x1D), do: "the record terminator"
  defp delimiter(0x1E), do: "the field terminator"
  defp delimiter(0x1F), do: "the subfield delimiter"
end
