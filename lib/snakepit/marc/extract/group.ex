defmodule Snakepit.Marc.Extract.Group do
  # Batches whose native work (parse and extract) runs in a fan-out worker or on a `:thread`
  # pool's thread while their terms are built later by the process that consumes them: the
  # `:extract` command given a group answers `{:ok, job}`, a native job for
  # `Snakepit.Marc.Spec.finish_batches/3`, instead of the values. Terms built once where
  # they are used are not copied from worker to consumer (on small records that copy costs
  # a quarter of the extraction). A job is valid on its own node only.
  @moduledoc false

  @enforce_keys [:batches]
  defstruct [:batches]

  @type t :: %__MODULE__{batches: [Snakepit.Marc.Batch.t()]}
end
