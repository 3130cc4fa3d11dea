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

  @doc false
  # `{binary, base_offset, first_index}` of a batch, or of a binary of ISO 2709 records (a
  # path refused, as `fun`, e.g. "extract/3", would refuse it): what the pool commands read.
  def parts!(%__MODULE__{data: bin, base_offset: base, first_index: first}, _fun),
    do: {bin, base, first}

  def parts!(bin, fun) when is_binary(bin) do
    Snakepit.Marc.reject_path!(bin, fun)
    {bin, 0, 0}
  end

  def parts!(other, _fun) do
    raise ArgumentError,
          "expected a binary of ISO 2709 records or a Snakepit.Marc.Batch, got: #{inspect(other, limit: 5)}"
  end
end
