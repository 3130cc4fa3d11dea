defmodule Snakepit.Marc.Encoder do
  # ISO 2709 encoding of Elixir records, as iodata: values are referenced, never copied.
  # Lengths, base address and directory are always recomputed, so edited records encode right.
  @moduledoc false

  alias Snakepit.Marc.{Field, Record}

  @field_terminator 0x1E
  @record_terminator 0x1D
  @subfield_delimiter 0x1F
  @max_record 99_999
  @max_field 9_999

  def encode(%Record{leader: leader, fields: fields})
      when is_binary(leader) and byte_size(leader) == 24 do
    {directory, data, data_len} = encode_fields(fields, [], [], 0)
    base = 24 + 12 * length(fields) + 1
    total = base + data_len + 1

    if total > @max_record do
      raise ArgumentError, "record would be #{total} bytes; ISO 2709 allows #{@max_record}"
    end

    [leader(leader, total, base), directory, @field_terminator, data, @record_terminator]
  end

  def encode(%Record{leader: leader}),
    do:
      raise(ArgumentError, "a record's leader must be a 24-byte binary, got: #{inspect(leader)}")

  defp encode_fields([], dir, data, offset), do: {Enum.reverse(dir), Enum.reverse(data), offset}

  defp encode_fields([%Field{tag: tag} = field | rest], dir, data, offset)
       when is_binary(tag) and byte_size(tag) == 3 do
    body = field_data(field)
    len = IO.iodata_length(body) + 1

    if len > @max_field do
      raise ArgumentError, "field #{tag} would be #{len} bytes; ISO 2709 allows #{@max_field}"
    end

    entry = [tag, pad(len, 4), pad(offset, 5)]
    encode_fields(rest, [entry | dir], [[body, @field_terminator] | data], offset + len)
  end

  defp encode_fields([other | _], _, _, _),
    do:
      raise(
        ArgumentError,
        "expected a %Snakepit.Marc.Field{} with a 3-byte tag, got: #{inspect(other)}"
      )

  defp field_data(%Field{value: value}) when is_binary(value), do: value

  defp field_data(%Field{ind1: ind1, ind2: ind2, subfields: subfields, tag: tag}) do
    [indicator(ind1, tag), indicator(ind2, tag) | Enum.map(subfields, &subfield(&1, tag))]
  end

  defp indicator(nil, _tag), do: " "
  defp indicator(<<_>> = ind, _tag), do: ind

  defp indicator(other, tag),
    do:
      raise(ArgumentError, "field #{tag}: an indicator must be one byte, got: #{inspect(other)}")

  defp subfield({<<_>> = code, value}, _tag) when is_binary(value),
    do: [@subfield_delimiter, code, value]

  defp subfield(other, tag),
    do:
      raise(
        ArgumentError,
        "field #{tag}: a subfield must be {one-byte code, binary}, got: #{inspect(other)}"
      )

  defp leader(
         <<_::binary-5, a::binary-5, b::binary-2, _::binary-5, c::binary-3, d::binary-4>>,
         total,
         base
       ) do
    [pad(total, 5), a, digits_or(b, "22"), pad(base, 5), c, digits_or(d, "4500")]
  end

  # Structural leader positions that are not digits get the standard values, byte by byte.
  defp digits_or(<<>>, <<>>), do: []

  defp digits_or(<<b, rest::binary>>, <<_d, defaults::binary>>) when b in ?0..?9,
    do: [b | digits_or(rest, defaults)]

  defp digits_or(<<_, rest::binary>>, <<d, defaults::binary>>),
    do: [d | digits_or(rest, defaults)]

  defp pad(n, width), do: n |> Integer.to_string() |> String.pad_leading(width, "0")
end
