defmodule Snakepit.JSON do
  # A small JSON encoder (OTP 25 has no :json and hex is out of reach): enough for reports
  # and diagnostics output. Maps with atom or binary keys, lists, binaries (must be UTF-8),
  # numbers, booleans, nil, other atoms as strings.
  @moduledoc false

  @spec encode!(term) :: binary
  def encode!(term), do: term |> encode_iodata() |> IO.iodata_to_binary()

  @spec encode_iodata(term) :: iodata
  def encode_iodata(nil), do: "null"
  def encode_iodata(true), do: "true"
  def encode_iodata(false), do: "false"
  def encode_iodata(atom) when is_atom(atom), do: string(Atom.to_string(atom))
  def encode_iodata(int) when is_integer(int), do: Integer.to_string(int)

  def encode_iodata(float) when is_float(float),
    do: :erlang.float_to_binary(float, [:short])

  def encode_iodata(bin) when is_binary(bin) do
    if String.valid?(bin),
      do: string(bin),
      else: raise(ArgumentError, "JSON strings must be UTF-8, got: #{inspect(bin)}")
  end

  def encode_iodata(list) when is_list(list),
    do: ["[", Enum.map_intersperse(list, ",", &encode_iodata/1), "]"]

  def encode_iodata(%{__struct__: _} = struct), do: encode_iodata(Map.from_struct(struct))

  def encode_iodata(map) when is_map(map) do
    pairs =
      map
      |> Enum.sort_by(fn {k, _} -> to_string(k) end)
      |> Enum.map_intersperse(",", fn {k, v} -> [key(k), ":", encode_iodata(v)] end)

    ["{", pairs, "}"]
  end

  def encode_iodata(other),
    do: raise(ArgumentError, "cannot encode #{inspect(other)} as JSON")

  defp key(k) when is_atom(k), do: string(Atom.to_string(k))
  defp key(k) when is_binary(k), do: string(k)
  defp key(k), do: string(to_string(k))

  defp string(s), do: [?", escape(s, s, 0, 0, []), ?"]

  # Copies runs of safe bytes as sub-binaries; escapes the rest.
  defp escape(<<>>, orig, start, len, acc),
    do: Enum.reverse([binary_part(orig, start, len) | acc])

  defp escape(<<c, rest::binary>>, orig, start, len, acc) when c < 0x20 or c == ?" or c == ?\\ do
    acc = [escaped(c), binary_part(orig, start, len) | acc]
    escape(rest, orig, start + len + 1, 0, acc)
  end

  defp escape(<<_, rest::binary>>, orig, start, len, acc),
    do: escape(rest, orig, start, len + 1, acc)

  defp escaped(?"), do: "\\\""
  defp escaped(?\\), do: "\\\\"
  defp escaped(?\n), do: "\\n"
  defp escaped(?\r), do: "\\r"
  defp escaped(?\t), do: "\\t"
  defp escaped(c), do: "\\u" <> String.pad_leading(Integer.to_string(c, 16), 4, "0")
end
