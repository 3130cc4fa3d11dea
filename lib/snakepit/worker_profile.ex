defmodule Snakepit.WorkerProfile do
  @moduledoc """
  How a pool's workers run requests. Two profiles ship with Snakepit:

    * `:process` (`Snakepit.WorkerProfile.Process`) - each worker is a process that runs one
      request at a time (capacity 1); native calls run on dirty CPU schedulers. The simple,
      isolated default.
    * `:thread` (`Snakepit.WorkerProfile.Thread`) - each worker owns a native rayon pool of
      `threads_per_worker` threads (its capacity). Callers submit straight to that pool; no
      scheduler is held while a request waits or runs.

  A pool can also be given a module implementing this behaviour as its `:worker_profile`.

  ## Requests

  A request is `{command, args}` (a command name and its argument list, as in
  `Snakepit.execute/3`) or `{:fun, fun}` (a zero-arity function run under the worker's
  capacity, see `Snakepit.Pool.run/3`). A profile runs it with the pool's command module
  (`config.commands`, a `Snakepit.Pool.Commands`), which says what each command does.

  ## Capacity and check-out

  `execute_request/3` checks a slot out atomically before it runs the request. If the
  worker is at capacity it returns `{:error, :at_capacity}` at once, without running
  anything, and the pool tries another worker or queues the caller. When a worker that was
  full frees a slot while callers are queued, it sends `{:snakepit_capacity_freed, worker_id}`
  to `config.notify`; after `config.max_requests` completed requests it sends
  `{:snakepit_max_requests, worker_id}` there.

  A caller waiting for a worker's reply should monitor the worker's pid (both built-in
  profiles do): a restarted pool manager stops the previous manager's workers once no
  process monitors them, so requests in flight finish first.
  """

  @typedoc "Whatever a profile needs to reach its worker; must hold the worker's pid as `:pid`."
  @type handle :: %{required(:pid) => pid, optional(atom) => term}

  @type request :: {atom, list} | {:fun, (() -> term)}

  @typedoc """
  What `start_worker/1` gets: the pool's normalised config (with `:commands`, the pool's
  `Snakepit.Pool.Commands` module) plus `:worker_id`, `:notify` (the
  pid told about freed capacity and reached request limits), `:max_requests` (this worker's
  jittered limit or `:infinity`), `:waiting` (an `:atomics` ref whose first slot counts
  queued callers) and `:supervisor` (where to start processes).
  """
  @type config :: map

  @doc """
  Starts one worker. Returns `{:ok, handle}` or `{:error, reason}` (the pool retries later).
  """
  @callback start_worker(config) :: {:ok, handle} | {:error, term}

  @doc """
  Stops the worker and frees what it holds. Returns `:ok`; the worker may already be dead.
  """
  @callback stop_worker(handle) :: :ok

  @doc """
  Checks out a slot and runs `request`, waiting at most `timeout` ms for the result.

  Returns:

    * `{:ok, result}` or `{:ok, result, extra}` - the command's success value
    * `{:error, :at_capacity}` - no slot was free (or the worker is retiring); nothing ran
    * `{:error, :timeout}` - no result within `timeout`; the slot returns to the worker when
      the abandoned request finishes
    * `{:error, :worker_crashed}` - the worker died while the request ran
    * `{:error, reason}` - the command's own error (`%Snakepit.Error{}`, a parse error, ...)
  """
  @callback execute_request(handle, request, timeout) ::
              {:ok, term} | {:ok, term, term} | {:error, term}

  @doc """
  As `execute_request/3`, calling `on_checkout` (a zero-arity function) in the caller right
  after the slot is checked out and before waiting for the result, and never when nothing
  was checked out. The pool uses it to stop counting a queued caller that it woke as waiting
  the moment it holds its slot, so others may take the fast path again. Optional: without it
  the pool stops counting such a caller just before it tries.
  """
  @callback execute_request(handle, request, timeout, on_checkout :: (() -> term)) ::
              {:ok, term} | {:ok, term, term} | {:error, term}

  @doc "How many requests the worker runs at once. Returns a positive integer."
  @callback get_capacity(handle) :: pos_integer

  @doc "How many slots are checked out now. Returns a non-negative integer."
  @callback get_load(handle) :: non_neg_integer

  @doc """
  Whether the worker can serve requests. Returns `:ok` or `{:error, reason}`; a worker that
  fails is replaced.
  """
  @callback health_check(handle) :: :ok | {:error, term}

  @doc """
  Stops new check-outs if the worker is idle, as the last step before it is stopped.
  Returns `:ok` when the worker holds no request and will accept none, `:busy` when requests
  are still in flight (the pool asks again shortly).
  """
  @callback retire(handle) :: :ok | :busy

  @doc """
  Facts about the worker. Returns a map with at least `:memory` (bytes: process memory plus
  native bytes held) and `:request_count`.
  """
  @callback get_metadata(handle) :: %{
              required(:memory) => non_neg_integer,
              required(:request_count) => non_neg_integer,
              optional(atom) => term
            }

  @optional_callbacks get_metadata: 1, execute_request: 4

  @doc false
  # Resolves a profile name to its module.
  def module(:process), do: Snakepit.WorkerProfile.Process
  def module(:thread), do: Snakepit.WorkerProfile.Thread
  def module(mod) when is_atom(mod), do: mod

  @doc false
  # Kept for callers of the old place; see Snakepit.Pool.Drain.
  defdelegate stop_process(pid, timeout \\ 1000), to: Snakepit.Pool.Drain

  @doc false
  def metadata(module, handle) do
    if function_exported?(module, :get_metadata, 1),
      do: module.get_metadata(handle),
      else: %{memory: 0, request_count: 0}
  end
end
