defmodule Snakepit.Marc.Issue do
  @moduledoc """
  One problem `Snakepit.Marc.lint/2` found in a record.

    * `:code` - the stable code of the check (`"subfield.undefined"`; see
      `docs/validation.md` for every code), or a user rule's own code;
    * `:severity` - `:error`, `:warning` or `:info` (the check's default, or what the rule
      set says);
    * `:tag` - the field's tag, `"LDR"` for the leader, `nil` for the record as a whole;
    * `:field_index` - the field's position in the record (0-based), or `nil`;
    * `:subfield` - the subfield code, or `nil`;
    * `:byte_offset` - where it is within the record's ISO 2709 bytes (the field, the
      subfield's delimiter, the fixed-field position), or `nil` (a record-level issue, or a
      record read from MARC-in-JSON or MARCXML);
    * `:message` - what was found and what is allowed.
  """

  @enforce_keys [:code, :severity, :message]
  defstruct [:code, :severity, :tag, :field_index, :subfield, :byte_offset, :message]

  @type t :: %__MODULE__{
          code: String.t(),
          severity: :error | :warning | :info,
          tag: String.t() | nil,
          field_index: non_neg_integer | nil,
          subfield: String.t() | nil,
          byte_offset: non_neg_integer | nil,
          message: String.t()
        }
end
