defmodule Snakepit.WorkerProfile.Process do
  # The :process profile: one GenServer per worker, one request at a time, run with the pool's
  # command module (Snakepit.Pool.Commands). Long native calls of a command run on dirty CPU
  # schedulers (the record API's NIFs are dirty), so a long parse never holds a normal one. Arguments and results are copied between caller and worker,
  # except refc binaries (> 64 bytes), which are shared by reference.
  @moduledoc false

  alias Snakepit.WorkerProfile.Reply
  @behaviour Snakepit.WorkerProfile

  use GenServer

  require Logger

  alias Snakepit.Pool.{Commands, Drain}

  # A worker's :atomics slots: checked-out slots (0 or 1; @closed once retired), completed
  # requests, 1 while the worker runs a request, and 1 after one health check saw a leaked slot.
  @load 1
  @completed 2
  @busy 3
  @suspect 4
  @closed 1_000_000
  # An idle worker hibernates (a full GC that also drops refc binaries its garbage still
  # referenced) after this long, and at once after a request that left a heap this big
  # (words): otherwise an idle worker keeps its last arguments and result alive.
  @hibernate_after 100
  @big_heap_words div(4 * 1024 * 1024, :erlang.system_info(:wordsize))
  # Records per reply message of a big parse result (see send_chunks/2).
  @reply_chunk 200

  defstruct [:pid, :id, :counters, :commands, max_requests: :infinity]

  # -- behaviour ----------------------------------------------------------------------------

  @impl Snakepit.WorkerProfile
  def start_worker(config) do
    counters = :atomics.new(4, signed: true)

    spec = %{
      id: {__MODULE__, config.worker_id},
      start:
        {GenServer, :start_link,
         [__MODULE__, {config, counters}, [hibernate_after: @hibernate_after]]},
      restart: :temporary
    }

    case DynamicSupervisor.start_child(config.supervisor, spec) do
      {:ok, pid} ->
        {:ok,
         %__MODULE__{
           pid: pid,
           id: config.worker_id,
           counters: counters,
           commands: config.commands,
           max_requests: config.max_requests
         }}

      {:error, reason} ->
        {:error, reason}
    end
  end

  @impl Snakepit.WorkerProfile
  def stop_worker(%__MODULE__{pid: pid}) do
    # A stop message is handled after any request already in the mailbox, so a reply that
    # was due is sent first.
    Drain.stop_process(pid)
  end

  @impl Snakepit.WorkerProfile
  def execute_request(handle, request, timeout),
    do: execute_request(handle, request, timeout, &checked_out/0)

  @impl Snakepit.WorkerProfile
  def execute_request(
        %__MODULE__{pid: pid, counters: counters} = handle,
        request,
        timeout,
        on_checkout
      ) do
    # Atomic check-out: whoever takes the slot from 0 to 1 owns it. A worker that has used
    # up its max_requests takes no more while its replacement is on the way.
    if :atomics.add_get(counters, @load, 1) == 1 and not used_up?(handle) do
      on_checkout.()
      # The alias lives until the caller demonitors (a big reply comes in several messages);
      # on a timeout it dies with the monitor, so a late reply is dropped by the VM.
      result = Reply.request(pid, &{:"$snakepit_request", &1, request}, timeout, :demonitor)
      Commands.finish(handle.commands, request, result)
    else
      :atomics.sub(counters, @load, 1)
      {:error, :at_capacity}
    end
  end

  defp checked_out, do: :ok

  # Exact while the slot is held: capacity 1 means no other request is running.
  defp used_up?(%__MODULE__{max_requests: :infinity}), do: false

  defp used_up?(%__MODULE__{counters: counters, max_requests: max}),
    do: :atomics.get(counters, @completed) >= max

  @impl Snakepit.WorkerProfile
  def get_capacity(_handle), do: 1

  @impl Snakepit.WorkerProfile
  def get_load(%__MODULE__{counters: counters} = handle) do
    if used_up?(handle), do: 1, else: min(:atomics.get(counters, @load), 1)
  end

  @impl Snakepit.WorkerProfile
  def health_check(%__MODULE__{pid: pid} = handle) do
    if Process.alive?(pid) do
      reclaim_leaked_slot(handle)
      :ok
    else
      {:error, :not_alive}
    end
  end

  # A caller killed between checking the slot out and sending its request leaves the slot
  # taken with nothing to run. Seen on two health checks in a row (taken, worker not busy,
  # mailbox empty), the slot is given back. If a live caller happened to be in that window,
  # the worker just runs two requests back to back: no harm.
  defp reclaim_leaked_slot(%__MODULE__{pid: pid, counters: counters, id: id}) do
    idle_but_taken =
      :atomics.get(counters, @load) == 1 and :atomics.get(counters, @busy) == 0 and
        Process.info(pid, :message_queue_len) == {:message_queue_len, 0}

    cond do
      not idle_but_taken ->
        :atomics.put(counters, @suspect, 0)

      :atomics.get(counters, @suspect) == 0 ->
        :atomics.put(counters, @suspect, 1)

      :atomics.compare_exchange(counters, @load, 1, 0) == :ok ->
        :atomics.put(counters, @suspect, 0)
        Logger.warning("Snakepit worker #{id}: reclaimed a slot left by a caller that died")

      true ->
        :ok
    end
  end

  @impl Snakepit.WorkerProfile
  def retire(%__MODULE__{counters: counters}) do
    case :atomics.compare_exchange(counters, @load, 0, @closed) do
      :ok -> :ok
      current when current >= @closed -> :ok
      _busy -> :busy
    end
  end

  @impl Snakepit.WorkerProfile
  def get_metadata(%__MODULE__{pid: pid, counters: counters}) do
    requests = :atomics.get(counters, @completed)

    case Process.info(pid, [:memory, :binary]) do
      [memory: heap, binary: binaries] ->
        # Off-heap refc binaries the worker still references count as its native bytes.
        native = binaries |> Enum.map(&elem(&1, 1)) |> Enum.sum()

        %{
          memory: heap + native,
          process_memory: heap,
          native_bytes: native,
          request_count: requests
        }

      nil ->
        %{memory: 0, process_memory: 0, native_bytes: 0, request_count: requests}
    end
  end

  # -- worker process -----------------------------------------------------------------------

  @impl GenServer
  def init({config, counters}) do
    state = %{
      id: config.worker_id,
      counters: counters,
      notify: config.notify,
      waiting: config.waiting,
      max_requests: config.max_requests,
      commands: config.commands
    }

    {:ok, state}
  end

  @impl GenServer
  def handle_info({:"$snakepit_request", reply_to, request}, state) do
    :atomics.put(state.counters, @busy, 1)
    emit = fn items -> send(reply_to, {reply_to, {:snakepit_chunk, items}}) end
    result = state.commands |> Commands.run(request, emit) |> send_chunks(reply_to)
    completed = :atomics.add_get(state.counters, @completed, 1)
    :atomics.put(state.counters, @busy, 0)
    # Free the slot, then reply: a caller that asks again right away finds it free.
    :atomics.sub(state.counters, @load, 1)
    send(reply_to, {reply_to, result})

    if :atomics.get(state.waiting, 1) > 0,
      do: send(state.notify, {:snakepit_capacity_freed, state.id})

    if completed == state.max_requests,
      do: send(state.notify, {:snakepit_max_requests, state.id})

    case Process.info(self(), :total_heap_size) do
      {:total_heap_size, words} when words > @big_heap_words -> {:noreply, state, :hibernate}
      _ -> {:noreply, state}
    end
  end

  def handle_info(_other, state), do: {:noreply, state}

  # A send copies its whole message at once, on this worker's scheduler: 40,000 parsed
  # records in one reply held a normal scheduler for seconds. So a big list result (`parse`,
  # or a function's) goes first in `{:snakepit_chunk, items}` messages of @reply_chunk items
  # (about a millisecond of copying each), which `Reply.await/2` puts back in front of the
  # rest: the caller gets the same term.
  defp send_chunks({:ok, items}, reply_to) when is_list(items),
    do: {:ok, send_chunks(items, reply_to, [])}

  defp send_chunks({:ok, items, extra}, reply_to) when is_list(items),
    do: {:ok, send_chunks(items, reply_to, []), extra}

  defp send_chunks(result, _reply_to), do: result

  defp send_chunks(items, reply_to, _) do
    # Most replies are short: look before splitting, so they are not copied.
    with true <- longer_than?(items, @reply_chunk),
         {chunk, [_ | _] = rest} <- split(items, @reply_chunk, []) do
      send(reply_to, {reply_to, {:snakepit_chunk, chunk}})
      send_chunks(rest, reply_to, [])
    else
      _short_or_improper -> items
    end
  end

  defp longer_than?([_ | rest], n) when n > 0, do: longer_than?(rest, n - 1)
  defp longer_than?([_ | _], 0), do: true
  defp longer_than?(_tail, _n), do: false

  defp split(list, 0, acc), do: {:lists.reverse(acc), list}
  defp split([item | rest], n, acc), do: split(rest, n - 1, [item | acc])
  defp split(tail, _n, acc), do: {:lists.reverse(acc), tail}
end
