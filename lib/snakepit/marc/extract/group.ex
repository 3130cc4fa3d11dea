defmodule Snakepit.Marc.Extract.Group do
  # Consecutive batches handled as one unit of fan-out work. Given to the `:extract` command
  # in place of a binary, it is one request for all of them: `{:ok, items}`, the items of
  # every batch in order (on a `:thread` pool built on one native thread). Several batches a
  # request: a request's fixed costs (routing, a slot, messages, waking a thread) are paid
  # once for them all.
  @moduledoc false

  @enforce_keys [:batches]
  defstruct [:batches]

  @type t :: %__MODULE__{batches: [Snakepit.Marc.Batch.t()]}
end
