defmodule Snakepit.Marc.ParseError do
  # The kinds, in the order of the Rust `ErrorKind::ALL` (native/snakepit_core/src/error.rs).
  # A test checks these names against the native list (`Snakepit.Native.error_kinds/0`) and
  # the kinds table of docs/formats.md against `kinds_table/0`, so none of the three drifts.
  @kinds [
    truncated_leader: "Fewer than 24 bytes where a leader should be.",
    invalid_record_length:
      "Leader/00-04 is not five ASCII digits, or claims fewer than 24 + 1 bytes.",
    invalid_base_address: "Leader/12-16 is not five ASCII digits.",
    base_address_out_of_range:
      "The base address lies before the end of the leader or past the end of the record.",
    invalid_directory_length:
      "The directory is not a whole number of 12-byte entries, or is not ended by 0x1E.",
    invalid_directory_entry:
      "A directory entry holds a non-digit length or start, or a non-ASCII tag.",
    field_out_of_bounds: "A directory entry points outside the record's data.",
    overlapping_fields:
      "Two directory entries claim the same bytes (a repeated, nested or overlapping span).",
    missing_field_terminator: "A field's data does not end with the field terminator 0x1E.",
    missing_record_terminator: "The record does not end with the record terminator 0x1D.",
    no_fields: "The record has no fields at all.",
    invalid_utf8: "Leader/09 says UTF-8 but the field data is not valid UTF-8.",
    truncated_record: "The input ends inside a record.",
    garbage: "Bytes between records that do not start a record, skipped while resynchronising.",
    invalid_marc8: "A MARC-8 escape sequence or code point that cannot be converted.",
    invalid_json: "MARC-in-JSON input that is not valid JSON or not shaped like a record.",
    invalid_xml: "MARCXML input that is not well-formed or not shaped like a record.",
    invalid_mrk:
      "A `.mrk` (MarcEdit mnemonic) line not shaped like a leader or field line; `detail` starts with its line number.",
    too_large:
      "A record or field too large for ISO 2709, or a JSON/XML record over `:max_record_bytes`.",
    invalid_value:
      "A value, indicator, code, tag or leader that cannot be written (a delimiter byte, a " <>
        "bad tag, text that is not UTF-8 in a UTF-8 record, a character XML cannot hold).",
    io: "An I/O error from the source or a writer's sink.",
    too_many_errors:
      "Stands for the errors past the 10,000 `validate/2` lists; `detail` says how many."
  ]

  @moduledoc """
  A bad record: what was wrong (`kind`), which record (`record_index`, 0-based, counting
  every framed chunk of the source, bad ones included), where (`byte_offset`, absolute in
  the source), and up to 32 bytes of the input there (`excerpt`).

  ## Kinds

  #{Enum.map_join(@kinds, "\n", fn {kind, meaning} -> "  * `#{inspect(kind)}` - #{meaning}" end)}
  """

  defexception kind: nil, record_index: nil, byte_offset: nil, excerpt: "", detail: ""

  @type kind ::
          unquote(
            @kinds
            |> Keyword.keys()
            |> Enum.reverse()
            |> Enum.reduce(&{:|, [], [&1, &2]})
          )

  @type t :: %__MODULE__{
          kind: kind,
          record_index: non_neg_integer,
          byte_offset: non_neg_integer,
          excerpt: binary,
          detail: binary
        }

  @doc "Every kind, in the native order."
  @spec kinds() :: [kind]
  def kinds, do: Keyword.keys(@kinds)

  @doc "The kinds table of docs/formats.md: each kind and what it means."
  @spec kinds_table() :: String.t()
  def kinds_table do
    rows = for {kind, meaning} <- @kinds, do: "| `#{inspect(kind)}` | #{meaning} |"
    Enum.join(["| kind | meaning |", "| --- | --- |" | rows], "\n") <> "\n"
  end

  @impl true
  def message(%__MODULE__{} = e) do
    "#{e.kind} in record #{e.record_index} at byte #{e.byte_offset}: #{e.detail}" <>
      if e.excerpt == "", do: "", else: " (bytes there: #{excerpt_text(e.excerpt)})"
  end

  @doc """
  `bytes` as a quoted string a person can read: printable ASCII as it is, every other byte
  (the MARC separators 0x1D, 0x1E, 0x1F, control bytes, UTF-8 and MARC-8 sequences) as a
  `\\xHH` escape, so the excerpt shows exactly the bytes there, never a list of numbers.

      iex> Snakepit.Marc.ParseError.excerpt_text(<<"99999nam", 0x1E, 0xC3, 0xA9, ?">>)
      ~S("99999nam\\x1E\\xC3\\xA9\\"")
  """
  @spec excerpt_text(binary) :: String.t()
  def excerpt_text(bytes) when is_binary(bytes),
    do: ~s(") <> for(<<byte <- bytes>>, into: "", do: escape(byte)) <> ~s(")

  defp escape(?"), do: ~S(\")
  defp escape(?\\), do: ~S(\\)
  defp escape(byte) when byte in 0x20..0x7E, do: <<byte>>
  defp escape(byte), do: "\\x" <> String.pad_leading(Integer.to_string(byte, 16), 2, "0")
end
