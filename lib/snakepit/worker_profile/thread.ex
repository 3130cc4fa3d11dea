defmodule Snakepit.WorkerProfile.Thread do
  # The :thread profile. A worker is a small owner process holding a native resource with its
  # own rayon pool; the pool does the work. Callers submit straight to the resource (no
  # GenServer hop) and the reply is sent from the rayon thread that built it. The owner
  # process exists for supervision: callers monitor it, so killing it fails their requests
  # instead of leaving them hanging, and its exit closes the resource.
  #
  # Commands implemented in Elixir (encode, to_json, to_xml) and {:fun, fun} units of work run
  # in the calling process while holding one of the worker's slots, so the pool's capacity
  # still bounds them.
  @moduledoc false

  alias Snakepit.WorkerProfile.Reply
  @behaviour Snakepit.WorkerProfile

  use GenServer

  alias Snakepit.Native
  alias Snakepit.WorkerProfile.Commands

  defstruct [:pid, :id, :resource, :capacity]

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
         capacity: config.threads_per_worker
       }}
    end
  end

  @impl Snakepit.WorkerProfile
  def stop_worker(%__MODULE__{pid: pid, resource: resource}) do
    Native.thread_pool_close(resource)
    Snakepit.WorkerProfile.stop_process(pid)
  end

  @impl Snakepit.WorkerProfile
  def execute_request(%__MODULE__{} = handle, {:fun, fun}, _timeout) when is_function(fun, 0) do
    local(handle, :fun, fn -> {:ok, fun.()} end)
  end

  def execute_request(%__MODULE__{} = handle, {command, args}, timeout)
      when is_atom(command) and is_list(args) do
    case Commands.native_plan(command, args) do
      {:native, native_command, native_args, post} ->
        native(handle, command, native_command, native_args, post, timeout)

      :local ->
        local(handle, command, fn -> Commands.run(command, args) end)

      {:error, _} = invalid ->
        invalid
    end
  end

  def execute_request(_handle, request, _timeout),
    do: {:error, Snakepit.Error.new(:invalid_arguments, command: request, args: nil)}

  defp native(handle, command, native_command, native_args, post, timeout) do
    # The monitor reference doubles as the reply tag.
    mref = Process.monitor(handle.pid)

    case Native.thread_pool_submit(handle.resource, mref, native_command, native_args) do
      :ok ->
        # Native threads send to pids, not aliases, so a reply that comes after a timeout
        # lands in the mailbox as a stray `{ref, _}` message; the slot is freed anyway when
        # the job ends.
        case Reply.await(mref, timeout) do
          {:ok, reply} -> reply |> Commands.native_error(command) |> post.()
          {:error, _} = error -> error
        end

      refused when refused in [:busy, :closed] ->
        Process.demonitor(mref, [:flush])
        {:error, :at_capacity}

      {:error, _} = error ->
        Process.demonitor(mref, [:flush])
        Commands.native_error(error, command)
    end
  end

  defp local(handle, command, fun) do
    case Native.thread_pool_acquire(handle.resource) do
      :ok ->
        try do
          fun.()
        catch
          kind, reason ->
            {:error,
             Snakepit.Error.new(:exception,
               command: command,
               kind: kind,
               reason: reason,
               message: Exception.format_banner(kind, reason, __STACKTRACE__)
             )}
        after
          Native.thread_pool_release(handle.resource)
        end

      _busy_or_closed ->
        {:error, :at_capacity}
    end
  end

  @impl Snakepit.WorkerProfile
  def get_capacity(%__MODULE__{capacity: capacity}), do: capacity

  @impl Snakepit.WorkerProfile
  def get_load(%__MODULE__{resource: resource}), do: Native.thread_pool_load(resource)

  @impl Snakepit.WorkerProfile
  def health_check(%__MODULE__{} = handle) do
    # A ping through the rayon pool proves its threads run; a fully busy pool is healthy.
    # :__health__ does not count as a request (request counts drive recycling).
    case native(handle, :health_check, :__health__, :health, &Function.identity/1, 1000) do
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
      {:ok, resource} -> {:ok, resource}
      {:error, reason} -> {:stop, {:thread_pool_new, reason}}
    end
  end

  @impl GenServer
  def handle_call(:resource, _from, resource), do: {:reply, resource, resource}

  @impl GenServer
  def handle_info(_msg, resource), do: {:noreply, resource}

  @impl GenServer
  def terminate(_reason, resource) do
    Native.thread_pool_close(resource)
    :ok
  end
end
