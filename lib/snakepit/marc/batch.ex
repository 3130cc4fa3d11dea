defmodule Snakepit.Marc.Batch do
  @moduledoc """
  A run of whole, unparsed records cut from a source by `Snakepit.Marc.batches/2`: the
  unit of parallel work. Any process can parse it with `Snakepit.Marc.parse_batch/2`, and
  errors still carry their absolute byte offset and record index in the source.
  """

  @enforce_keys [:data, :base_offset, :first_index, :count]
  defstruct [:data, :base_offset, :first_index, :count]

  @type t :: %__MODULE__{
          data: binary,
          base_offset: non_neg_integer,
          first_index: non_neg_integer,
          count: non_neg_integer
        }
end
