defmodule Snakepit.WorkerProfile.Thread do
  # The :thread profile. A worker is a small owner process holding a native resource with its
  # own rayon pool; the pool does the work. Callers submit straight to the resource (no
  # GenServer hop) and the reply is sent from the rayon thread that built it. The owner
  # process exists for supervision: callers monitor it, so killing it fails their requests
  # instead of leaving them hanging, and its exit closes the resource.
  #
  # Commands the command module runs in Elixir (its native_plan/2 says :local) and {:fun, fun}
  # units of work run in an Elixir process while holding one of the worker's slots, so the pool's capacity
  # still bounds them. The owner process monitors whoever holds such a slot and returns it
  # on :DOWN, so a holder killed by an exit signal leaks nothing. A command planned
  # :local_with_threads takes every free slot instead of one, and runs with them: the
  # command's NIFs spawn work on the worker's threads, one a slot.
  @moduledoc false

  alias Snakepit.WorkerProfile.Reply
  @behaviour Snakepit.WorkerProfile

  use GenServer

  alias Snakepit.Native
  alias Snakepit.Pool.{Commands, Drain}

  defstruct [:pid, :id, :resource, :capacity, :commands]

  # -- behaviour ----------------------------------------------------------------------------

  @impl Snakepit.WorkerProfile
  def start_worker(config) do
    spec = %{
      id: {__MODULE__, config.worker_id},
      start: {GenServer, :start_link, [__MODULE__, config]},
      restart: :temporary,
      shutdown: 5000
    }

    with {:ok, pid} <- DynamicSupervisor.start_child(config.supervisor, spec) do
      resource = GenServer.call(pid, :resource)

      {:ok,
       %__MODULE__{
         pid: pid,
         id: config.worker_id,
         resource: resource,
         capacity: config.threads_per_worker,
         commands: config.commands
       }}
    end
  end

  @impl Snakepit.WorkerProfile
  def stop_worker(%__MODULE__{pid: pid, resource: resource}) do
    Native.thread_pool_stop(resource)
    Drain.stop_process(pid)
  end

  @impl Snakepit.WorkerProfile
  def execute_request(handle, request, timeout),
    do: execute_request(handle, request, timeout, &checked_out/0)

  @impl Snakepit.WorkerProfile
  def execute_request(%__MODULE__{} = handle, {:fun, fun} = request, timeout, on_checkout)
      when is_function(fun, 0),
      do: local(handle, request, timeout, on_checkout)

  def execute_request(
        %__MODULE__{commands: commands} = handle,
        {command, args} = request,
        timeout,
        on_checkout
      )
      when is_atom(command) and is_list(args) do
    case Commands.plan(commands, command, args) do
      {:native, native_command, native_args, post} ->
        result =
          native(handle, {command, native_command, native_args, post}, timeout, on_checkout)

        Commands.finish(commands, request, result)

      :local ->
        Commands.finish(commands, request, local(handle, request, timeout, on_checkout))

      :local_with_threads ->
        result = local(handle, {:with_threads, request}, timeout, on_checkout)
        Commands.finish(commands, request, result)

      {:error, _} = invalid ->
        invalid
    end
  end

  def execute_request(_handle, request, _timeout, _on_checkout),
    do: Commands.invalid_request(request)

  defp checked_out, do: :ok

  defp native(handle, {command, native_command, native_args, post}, timeout, on_checkout) do
    # The monitor reference doubles as the reply tag.
    mref = Process.monitor(handle.pid)

    case submit(handle.resource, mref, native_command, native_args) do
      :ok ->
        on_checkout.()
        # Native threads send to pids, not aliases, so a reply that comes after a timeout
        # lands in the mailbox as a stray `{ref, _}` message; the slot is freed anyway when
        # the job ends.
        await_native(mref, timeout, command, post)

      # A reply in chunks: on a timeout the job is told to stop, so at most the chunk being
      # built and a small `{:error, :cancelled}` reply still arrive.
      {:ok, ticket} ->
        on_checkout.()

        with {:error, :timeout} <- await_native(mref, timeout, command, post) do
          Native.thread_pool_cancel(ticket)
          {:error, :timeout}
        end

      refused when refused in [:busy, :closed] ->
        Process.demonitor(mref, [:flush])
        {:error, :at_capacity}

      {:error, _} = error ->
        Process.demonitor(mref, [:flush])
        native_error(error, command)
    end
  end

  defp await_native(mref, timeout, command, post) do
    case Reply.await(mref, timeout) do
      {:ok, reply} -> reply |> native_error(command) |> post.()
      {:error, _} = error -> error
    end
  end

  # Arguments too big to copy on a normal scheduler are copied on a dirty one.
  defp submit(resource, tag, command, args) do
    case Native.thread_pool_submit(resource, tag, command, args) do
      :copy_on_dirty -> Native.thread_pool_submit_dirty(resource, tag, command, args)
      result -> result
    end
  end

  # With no timeout the work runs in the caller. Otherwise it runs in a runner process, so
  # the caller can stop waiting: like an abandoned native job, the runner finishes its work
  # and then frees the slot, and its late reply goes to a dead alias. A request
  # `{:with_threads, request}` takes every free slot, not one, and runs with their threads.
  defp local(handle, request, :infinity, on_checkout) do
    case acquire(handle, request, self()) do
      {:ok, slots} ->
        on_checkout.()

        try do
          run_holding(handle.commands, request, slots)
        after
          Enum.each(slots, &Native.thread_pool_release/1)
        end

      _busy_or_closed ->
        {:error, :at_capacity}
    end
  end

  defp local(handle, request, timeout, on_checkout) do
    caller = self()
    runner = spawn(fn -> run_local(caller, handle.commands, request) end)

    # The slots are checked out for the runner, so the owner watches the runner.
    case acquire(handle, request, runner) do
      {:ok, slots} ->
        on_checkout.()
        Reply.request(runner, &{:"$snakepit_run", slots, &1}, timeout, :reply_demonitor)

      _busy_or_closed ->
        # It holds nothing yet; it stops on this message.
        send(runner, :"$snakepit_cancel")
        {:error, :at_capacity}
    end
  end

  # One slot for `holder`, and for a request with threads every other slot free now (one
  # already taken by someone else just stays theirs).
  defp acquire(handle, request, holder) do
    with {:ok, slot} <- Native.thread_pool_acquire(handle.resource, holder) do
      case request do
        {:with_threads, _} -> {:ok, [slot | more_slots(handle, holder, handle.capacity - 1)]}
        _ -> {:ok, [slot]}
      end
    end
  end

  defp more_slots(_handle, _holder, 0), do: []

  defp more_slots(handle, holder, wanted) do
    case Native.thread_pool_acquire(handle.resource, holder) do
      {:ok, slot} -> [slot | more_slots(handle, holder, wanted - 1)]
      _busy_or_closed -> []
    end
  end

  defp run_holding(commands, {:with_threads, request}, slots),
    do: Commands.run_with_threads(commands, request, slots)

  defp run_holding(commands, request, _slots), do: Commands.run(commands, request)

  defp run_local(caller, commands, request) do
    caller_ref = Process.monitor(caller)

    receive do
      {:"$snakepit_run", slots, reply_to} ->
        Process.demonitor(caller_ref, [:flush])
        result = run_holding(commands, request, slots)
        # Free the slots before replying, so a caller that asks again at once finds them free.
        Enum.each(slots, &Native.thread_pool_release/1)
        send(reply_to, {reply_to, result})

      :"$snakepit_cancel" ->
        :ok

      # The caller died before handing over the slot; the owner returns it.
      {:DOWN, ^caller_ref, _, _, _} ->
        :ok
    end
  end

  # The thread pool's own errors (the NIF protocol), as `Snakepit.Error`s.
  defp native_error({:error, {:panic, message}}, command),
    do: {:error, Snakepit.Error.new(:native_panic, command: command, panic: message)}

  defp native_error({:error, {:unknown_command, command}}, _command),
    do: {:error, Snakepit.Error.new(:unsupported_command, command: command)}

  defp native_error({:error, {:invalid_arguments, _}}, command),
    do: {:error, Snakepit.Error.new(:invalid_arguments, command: command)}

  # A job that the worker's stop ended early: the worker is gone under it.
  defp native_error({:error, :closed}, _command), do: {:error, :worker_crashed}

  defp native_error(other, _command), do: other

  @impl Snakepit.WorkerProfile
  def get_capacity(%__MODULE__{capacity: capacity}), do: capacity

  @impl Snakepit.WorkerProfile
  def get_load(%__MODULE__{resource: resource}), do: Native.thread_pool_load(resource)

  @impl Snakepit.WorkerProfile
  def health_check(%__MODULE__{} = handle) do
    # A ping through the rayon pool proves its threads run; a fully busy pool is healthy.
    # :__health__ does not count as a request (request counts drive recycling).
    health = {:health_check, :__health__, :health, &Function.identity/1}

    case native(handle, health, 1000, &checked_out/0) do
      {:ok, :health} -> :ok
      {:error, :at_capacity} -> :ok
      {:error, reason} -> {:error, reason}
    end
  end

  @impl Snakepit.WorkerProfile
  def retire(%__MODULE__{resource: resource}) do
    Native.thread_pool_close(resource)

    case Native.thread_pool_stats(resource) do
      {0, 0, _threads, _completed, _bytes} -> :ok
      _ -> :busy
    end
  end

  @impl Snakepit.WorkerProfile
  def get_metadata(%__MODULE__{pid: pid, resource: resource}) do
    {in_flight, _unsent, threads, completed, native_bytes} = Native.thread_pool_stats(resource)

    process_memory =
      case Process.info(pid, :memory) do
        {:memory, bytes} -> bytes
        nil -> 0
      end

    %{
      memory: process_memory + native_bytes,
      process_memory: process_memory,
      native_bytes: native_bytes,
      request_count: completed,
      in_flight: in_flight,
      threads: threads
    }
  end

  # -- owner process ------------------------------------------------------------------------
  # State: the native resource, and the local slots checked out: slot id => {monitor, slot}
  # and monitor => slot id.

  @impl GenServer
  def init(config) do
    # Trap exits so a supervisor shutdown runs terminate/2 and closes the native pool.
    Process.flag(:trap_exit, true)
    max_requests = if config.max_requests == :infinity, do: 0, else: config.max_requests

    case Native.thread_pool_new(
           config.threads_per_worker,
           config.notify,
           config.worker_id,
           max_requests
         ) do
      {:ok, resource} -> {:ok, %{resource: resource, slots: %{}, holders: %{}}}
      {:error, reason} -> {:stop, {:thread_pool_new, reason}}
    end
  end

  @impl GenServer
  def handle_call(:resource, _from, state), do: {:reply, state.resource, state}

  @impl GenServer
  def handle_info({:snakepit_slot_held, id, slot, holder}, state) do
    # Monitoring a process that is already gone delivers :DOWN at once.
    mref = Process.monitor(holder)

    {:noreply,
     %{
       state
       | slots: Map.put(state.slots, id, {mref, slot}),
         holders: Map.put(state.holders, mref, id)
     }}
  end

  def handle_info({:snakepit_slot_released, id}, state) do
    case Map.pop(state.slots, id) do
      {{mref, _slot}, slots} ->
        Process.demonitor(mref, [:flush])
        {:noreply, %{state | slots: slots, holders: Map.delete(state.holders, mref)}}

      {nil, _} ->
        {:noreply, state}
    end
  end

  def handle_info({:DOWN, mref, :process, _pid, _reason}, state) do
    case Map.pop(state.holders, mref) do
      {nil, _} ->
        {:noreply, state}

      {id, holders} ->
        {{^mref, slot}, slots} = Map.pop(state.slots, id)
        # A no-op when the holder released it just before it died.
        Native.thread_pool_release(slot)
        {:noreply, %{state | slots: slots, holders: holders}}
    end
  end

  def handle_info(_msg, state), do: {:noreply, state}

  @impl GenServer
  def terminate(_reason, state) do
    Native.thread_pool_stop(state.resource)
    :ok
  end
end
