defmodule Snakepit.Marc.Identifiers do
  # Normalising the standard numbers a record carries (ISBN, LCCN, OCLC number) and the
  # language codes it names; used by the helpers of `Snakepit.Marc.Record`, documented there.
  @moduledoc false

  @doc """
  The number an 020 `$a` starts with: digits (and a final `X`), hyphens and spaces
  removed, 10 or 13 characters; `nil` when the value does not start with one.
  """
  def isbn(text) do
    case Regex.run(~r/^\s*([0-9][0-9\-\s]{8,16}[0-9Xx])\b/, text) do
      [_, number] ->
        number = number |> String.replace(["-", " "], "") |> String.upcase()
        if byte_size(number) in [10, 13], do: number

      nil ->
        nil
    end
  end

  @doc "`:valid` or `:invalid_checksum` for a normalised ISBN-10 or ISBN-13."
  def isbn_checksum(<<body::binary-size(9), check>>) do
    sum =
      body
      |> :binary.bin_to_list()
      |> Enum.with_index()
      |> Enum.reduce(0, fn {d, i}, acc -> acc + (d - ?0) * (10 - i) end)

    check = if check == ?X, do: 10, else: check - ?0
    if rem(sum + check, 11) == 0 and not x_inside?(body), do: :valid, else: :invalid_checksum
  end

  def isbn_checksum(<<body::binary-size(12), check>>) do
    sum =
      body
      |> :binary.bin_to_list()
      |> Enum.with_index()
      |> Enum.reduce(0, fn {d, i}, acc -> acc + (d - ?0) * if(rem(i, 2) == 0, do: 1, else: 3) end)

    if check != ?X and not x_inside?(body) and rem(10 - rem(sum, 10), 10) == check - ?0,
      do: :valid,
      else: :invalid_checksum
  end

  defp x_inside?(body), do: String.contains?(body, "X")

  @doc """
  An LCCN normalised as the Library of Congress specifies
  (https://www.loc.gov/marc/lccn-namespace.html): blanks removed; a slash and all after it
  removed; a hyphen removed and the digits after it left-padded with zeros to six. `nil`
  for a value that is empty after that, or whose part after the hyphen is not one to six
  digits.
  """
  def lccn(text) do
    text = text |> String.replace(~r/\s/u, "") |> String.split("/", parts: 2) |> hd()

    case String.split(text, "-", parts: 2) do
      [""] ->
        nil

      [whole] ->
        whole

      [prefix, serial] ->
        if serial =~ ~r/\A[0-9]{1,6}\z/, do: prefix <> String.pad_leading(serial, 6, "0")
    end
  end

  @doc """
  The OCLC number of a 035 `$a` with the `(OCoLC)` prefix: the prefix, an `ocm`, `ocn` or
  `on` after it, and leading zeros removed; `nil` for any other 035 or no digits.
  """
  def oclc_number("(OCoLC)" <> rest) do
    rest = rest |> String.trim() |> strip_oclc_letters()

    case Regex.run(~r/\A0*([0-9]+)\z/, rest) do
      [_, number] -> number
      nil -> nil
    end
  end

  def oclc_number(_other), do: nil

  defp strip_oclc_letters("ocm" <> rest), do: rest
  defp strip_oclc_letters("ocn" <> rest), do: rest
  defp strip_oclc_letters("on" <> rest), do: rest
  defp strip_oclc_letters(rest), do: rest

  @doc """
  The language codes a 041 subfield value holds: one code, or (in records made before
  2001) several run together, `"engfre"`. Codes are three ASCII letters, lower-cased.
  """
  def language_codes(value) do
    value = String.trim(value)

    if value =~ ~r/\A([A-Za-z]{3})+\z/,
      do: for(<<code::binary-size(3) <- value>>, do: String.downcase(code)),
      else: []
  end

  @doc "The language code of 008/35-37, or `nil` when it is blank, fill or not a code."
  def language_008(<<_::binary-size(35), code::binary-size(3), _::binary>>) do
    if code =~ ~r/\A[a-z]{3}\z/, do: code
  end

  def language_008(_short), do: nil
end
