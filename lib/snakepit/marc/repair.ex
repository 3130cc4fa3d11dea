defmodule Snakepit.Marc.Repair do
  # The kinds, in the order of the Rust `RepairKind::ALL` (native/snakepit_core/src/recover.rs);
  # a test checks them against `Snakepit.Native.repair_kinds/0`.
  @kinds [
    utf8_replaced:
      "Invalid UTF-8 sequences replaced by U+FFFD (`utf8_errors: :replace`), one per maximal subpart.",
    utf8_dropped: "Invalid UTF-8 sequences left out (`utf8_errors: :drop`).",
    subfield_code:
      "A subfield code that is no ASCII character, read as pymarc does: the first ASCII " <>
        "character of the subfield's text (diacritics stripped); the value starts after the first character.",
    indicator: "A non-ASCII indicator byte in a UTF-8 record, read as a blank.",
    encoding_utf8:
      "Leader/09 says MARC-8 but the data is UTF-8 with multibyte characters (`encoding: :auto`): read as UTF-8.",
    encoding_marc8:
      "Leader/09 says UTF-8 but the data is not UTF-8 and reads as MARC-8 (`encoding: :auto`): read as MARC-8.",
    directory:
      "The directory disagreed with the field terminators: the fields were rebuilt from the " <>
        "terminators (`repair_directory: true`)."
  ]

  @moduledoc """
  One change made to read a damaged record, in the `repairs` list of the
  `Snakepit.Marc.Record` (or `Snakepit.Marc.LazyRecord`) it was made to: what (`kind`), in
  which field (`tag`, `nil` for the whole record), where (`byte_offset`, absolute in the
  source, of the first byte concerned) and a sentence (`detail`). Records read with no
  repair have `repairs: []`. See the Recovery section of docs/formats.md.

  ## Kinds

  #{Enum.map_join(@kinds, "\n", fn {kind, meaning} -> "  * `#{inspect(kind)}` - #{meaning}" end)}
  """

  defstruct kind: nil, tag: nil, byte_offset: nil, detail: ""

  @type kind ::
          unquote(
            @kinds
            |> Keyword.keys()
            |> Enum.reverse()
            |> Enum.reduce(&{:|, [], [&1, &2]})
          )

  @type t :: %__MODULE__{
          kind: kind,
          tag: binary | nil,
          byte_offset: non_neg_integer,
          detail: binary
        }

  @doc "The repair kinds, in the native order."
  @spec kinds() :: [kind]
  def kinds, do: Keyword.keys(@kinds)
end
