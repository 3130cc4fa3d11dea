defmodule Snakepit.Marc.ParseError do
  @moduledoc """
  A bad record: what was wrong (`kind`), which record (`record_index`, 0-based, counting
  every framed chunk of the source, bad ones included), where (`byte_offset`, absolute in
  the source), and up to 32 bytes of the input there (`excerpt`).

  Kinds: #{Enum.map_join(~w(truncated_leader invalid_record_length invalid_base_address base_address_out_of_range invalid_directory_length invalid_directory_entry field_out_of_bounds overlapping_fields missing_field_terminator missing_record_terminator no_fields invalid_utf8 truncated_record garbage invalid_marc8 invalid_json invalid_xml too_large invalid_value io too_many_errors), ", ", &"`:#{&1}`")}.
  """

  defexception kind: nil, record_index: nil, byte_offset: nil, excerpt: "", detail: ""

  @type kind ::
          :truncated_leader
          | :invalid_record_length
          | :invalid_base_address
          | :base_address_out_of_range
          | :invalid_directory_length
          | :invalid_directory_entry
          | :field_out_of_bounds
          | :overlapping_fields
          | :missing_field_terminator
          | :missing_record_terminator
          | :no_fields
          | :invalid_utf8
          | :truncated_record
          | :garbage
          | :invalid_marc8
          | :invalid_json
          | :invalid_xml
          | :too_large
          | :invalid_value
          | :io
          | :too_many_errors

  @type t :: %__MODULE__{
          kind: kind,
          record_index: non_neg_integer,
          byte_offset: non_neg_integer,
          excerpt: binary,
          detail: binary
        }

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
