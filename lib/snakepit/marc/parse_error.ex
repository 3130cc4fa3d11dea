defmodule Snakepit.Marc.ParseError do
  @moduledoc """
  A bad record: what was wrong (`kind`), which record (`record_index`, 0-based, counting
  every framed chunk of the source, bad ones included), where (`byte_offset`, absolute in
  the source), and up to 32 bytes of the input there (`excerpt`).

  Kinds: #{Enum.map_join(~w(truncated_leader invalid_record_length invalid_base_address base_address_out_of_range invalid_directory_length invalid_directory_entry field_out_of_bounds missing_field_terminator missing_record_terminator no_fields invalid_utf8 truncated_record garbage invalid_marc8 invalid_json invalid_xml too_large invalid_value io), ", ", &"`:#{&1}`")}.
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
      if e.excerpt == "", do: "", else: " (bytes there: #{inspect(e.excerpt)})"
  end
end
