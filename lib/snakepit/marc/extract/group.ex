defmodule Snakepit.Marc.Extract.Group do
  # Consecutive batches handled as one unit of fan-out work. Given to the `:extract` command
  # in place of a binary, it is one request for all of them. Several batches a request: a
  # request's fixed costs (routing, a slot, messages, waking a thread) are paid once for
  # them all.
  #
  # `answer: :items` (the default): `{:ok, items}`, the items of every batch in order (on a
  # `:thread` pool built on one native thread). `answer: :outcomes`: `{:ok, [job]}`, the
  # native work only, a job whose items the caller builds with
  # `Snakepit.Marc.Spec.finish_batches/3`, so that no map is built in the pool and copied
  # from process to process. A job is a native resource: only for a pool on the caller's
  # node.
  @moduledoc false

  @enforce_keys [:batches]
  defstruct [:batches, answer: :items]

  @type t :: %__MODULE__{batches: [Snakepit.Marc.Batch.t()], answer: :items | :outcomes}
end
