defmodule Snakepit.Marc.Extract.Group do
  # Consecutive batches handled as one unit of fan-out work. Given to the `:extract` command
  # in place of a binary, it is one request for all of them: `{:ok, items}`, the items of
  # every batch in order (on a `:thread` pool built on one native thread). Several batches a
  # request: a request's fixed costs (routing, a slot, messages, waking a thread) are paid
  # once for them all.
  #
  # `job: true`: the request does only the native part, parsing and extracting, and answers
  # `{:ok, job}`, a native extraction job whose maps the process that consumes them builds
  # (`Snakepit.Marc.Spec.finish_batches/3`), in its own heap: no map is built by one process
  # and copied to another. On this node only (the job is a native resource).
  @moduledoc false

  @enforce_keys [:batches]
  defstruct [:batches, job: false]

  @type t :: %__MODULE__{batches: [Snakepit.Marc.Batch.t()], job: boolean}
end
