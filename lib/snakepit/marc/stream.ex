defmodule Snakepit.Marc.Stream do
  # The Stream behind Snakepit.Marc.stream/2: a native resource per stream, batches taken
  # one NIF call at a time, and cleanup in the resource's after-function (and, if the
  # consumer dies, in the resource destructor).
  @moduledoc false

  alias Snakepit.Marc.{Options, ParseError, Source}
  alias Snakepit.Native

  # How long a waiting stream trusts the reader thread's ready message before it looks
  # again by itself.
  @wait_recheck_ms 1_000

  @doc "A stream of records (or errors standing in for bad ones, per mode)."
  def new(source, opts) do
    case Keyword.pop(opts, :pool) do
      {nil, opts} -> build(source, opts, false)
      {pool, opts} -> through_pool(source, pool, opts)
    end
  end

  # With a pool, each batch is framed here and parsed by one of the pool's workers, under
  # its capacity; the records come back to the consuming process. Strict mode is applied
  # here, so the good records before a bad one still arrive, as without a pool.
  defp through_pool(source, pool, opts) do
    mode = Keyword.get(opts, :mode, :strict)
    worker_mode = if mode == :strict, do: :permissive, else: mode

    parse_opts =
      opts
      |> Keyword.take(Options.parse_keys())
      |> Keyword.put(:mode, worker_mode)

    timeout = Keyword.get(opts, :timeout, :infinity)

    source
    |> batches(Keyword.drop(opts, [:timeout]))
    |> items_of_batches(mode, fn batch ->
      work = fn -> Snakepit.Marc.parse_batch(batch, parse_opts) end

      case Snakepit.Pool.run(pool, work, timeout) do
        {:ok, {:ok, items}} ->
          items

        {:error, %_{__exception__: true} = error} ->
          raise error

        {:error, reason} ->
          raise Snakepit.Error.new(reason, pool: pool, command: :parse, timeout: timeout)
      end
    end)
  end

  @doc """
  `enum`'s elements, each taken `count` elements before it is given: a stream of started
  native jobs keeps `count` of them running while the consumer finishes the one before.
  Three by default: on a 200 MB file, one ahead extracted 10-15% slower, and linted a
  little slower, than two or three; the native threads then idle less while the consumer
  builds terms.
  """
  def ahead(enum, count \\ 3) when is_integer(count) and count > 0 do
    Stream.transform(
      enum,
      fn -> :queue.new() end,
      fn element, queue ->
        queue = :queue.in(element, queue)

        if :queue.len(queue) > count do
          {{:value, oldest}, queue} = :queue.out(queue)
          {[oldest], queue}
        else
          {[], queue}
        end
      end,
      fn queue -> {:queue.to_list(queue), :queue.new()} end,
      fn _queue -> :ok end
    )
  end

  @doc """
  The items `items_of.(batch)` gives for each batch (errors in place), under `mode`: in
  `:strict`, the items before the first error arrive, then it raises.
  """
  def items_of_batches(batches, mode, items_of) do
    batches
    # A marker after the last batch, so an error in the last batch still raises.
    |> Stream.concat([:end])
    |> Stream.transform(:ok, fn
      _batch_or_end, {:raise, error} -> raise error
      :end, :ok -> {[], :ok}
      batch, :ok when mode == :strict -> split_at_error(items_of.(batch))
      batch, :ok -> {items_of.(batch), :ok}
    end)
  end

  defp split_at_error(items) do
    case Enum.split_while(items, &(not match?({:error, _}, &1))) do
      {good, []} -> {good, :ok}
      {good, [{:error, error} | _]} -> {good, {:raise, error}}
    end
  end

  @doc "A stream of `%Snakepit.Marc.Batch{}`: whole frames, unparsed, for fan-out."
  def batches(source, opts), do: build(source, opts, true)

  defp build(source, opts, raw) do
    source = Source.classify!(source)
    opts = Options.validate!(opts, :stream)
    Stream.resource(fn -> open(source, opts, raw) end, &next/1, &close/1)
  end

  @doc false
  # For tests: a strict stream over the native stream `open_native.()` returns as
  # `{:ok, resource, id}`.
  def from_native(open_native) do
    Stream.resource(
      fn ->
        {:ok, resource, id} = open_native.()
        state(resource, id, nil, :strict)
      end,
      &next/1,
      &close/1
    )
  end

  defp state(resource, id, puller, mode),
    do: %{resource: resource, id: id, puller: puller, mode: mode, skipped: 0, raise: nil}

  defp open(source, opts, raw) do
    case Source.resolve_format(source, opts.format, opts.chunk_size) do
      {format, _source} when raw and format not in [:iso2709, :auto] ->
        raise ArgumentError,
              "batches/2, map/3 and each/3 read ISO 2709 only, this source holds #{format}; " <>
                "use stream/2 for MARC-in-JSON and MARCXML"

      # Fan-out reads ISO 2709 only: a device it cannot sniff is taken to hold it.
      {_format, {:file, path}} when raw ->
        open_file(path, :iso2709, opts, raw)

      {format, {:file, path}} ->
        open_file(path, format, opts, raw)

      {:iso2709, source} ->
        {:ok, resource} = Native.stream_open_push(opts, opts, raw)
        state(resource, nil, Source.puller(source, opts.chunk_size), opts.mode)

      {format, source} ->
        {:ok, resource, id} =
          Native.stream_open_format(opts, opts, opts.buffer, opts.max_record_bytes, format)

        state(resource, id, Source.puller(source, opts.chunk_size), opts.mode)
    end
  end

  defp open_file(path, format, opts, raw) do
    case Native.stream_open_file(
           path,
           format,
           opts,
           opts,
           opts.threads,
           opts.buffer,
           opts.max_record_bytes,
           raw
         ) do
      {:ok, resource, id} ->
        state(resource, id, nil, opts.mode)

      {:error, {reason, message}} ->
        what = if format in [:iso2709, :auto], do: "MARC", else: format
        open_error!(reason, message, "open #{what} file", path)
    end
  end

  # File.Error words a known reason itself ("no such file or directory"); the native message
  # is added only for the other I/O errors, which it alone describes.
  defp open_error!(:io_error, message, action, path),
    do: raise(File.Error, reason: :io_error, action: "#{action} (#{message})", path: path)

  defp open_error!(reason, _message, action, path),
    do: raise(File.Error, reason: reason, action: action, path: path)

  defp next(%{raise: %ParseError{} = error}), do: raise(error)
  defp next(%{resource: nil} = state), do: {:halt, state}

  defp next(state), do: handle(Native.stream_next(state.resource), state)

  defp handle(answer, state) do
    case answer do
      # A batch too large to build on this (normal) scheduler.
      :dirty ->
        handle(Native.stream_next_dirty(state.resource), state)

      {:batch, items, skipped} ->
        Snakepit.Marc.ReadEvents.items(items, skipped)
        emit(items, %{state | skipped: state.skipped + skipped})

      {:raw, data, base_offset, first_index, count} ->
        batch = %Snakepit.Marc.Batch{
          data: data,
          base_offset: base_offset,
          first_index: first_index,
          count: count
        }

        {[batch], state}

      # The reader thread sends a ready message when something comes (from a drop guard,
      # so also when it ends or fails). It is not a process to monitor: a bounded wait,
      # then a new look, means no lost message can hang the stream.
      :wait ->
        id = state.id

        receive do
          {:snakepit_stream_ready, ^id} -> next(state)
        after
          @wait_recheck_ms -> next(state)
        end

      :need_input ->
        case state.puller.() do
          :eof ->
            Native.stream_feed_light(state.resource, :eof)
            next(state)

          {chunk, puller} ->
            feed(state.resource, chunk)
            next(%{state | puller: puller})
        end

      :eof ->
        {:halt, state}

      {:error, %ParseError{} = error} ->
        Snakepit.Marc.ReadEvents.error(error)
        raise error
    end
  end

  # Small chunks are copied on this scheduler: a dirty-scheduler switch per chunk costs more.
  defp feed(resource, chunk) when byte_size(chunk) <= 65_536,
    do: Native.stream_feed_light(resource, chunk)

  defp feed(resource, chunk), do: Native.stream_feed(resource, chunk)

  # Strict mode: the records before the first error still arrive, then the error raises.
  defp emit(items, %{mode: :strict} = state) do
    case Enum.split_while(items, &(not match?({:error, _}, &1))) do
      {good, []} -> {good, state}
      {good, [{:error, error} | _]} -> {good, %{state | raise: error}}
    end
  end

  defp emit(items, state), do: {items, state}

  defp close(%{resource: resource, id: id}) do
    Native.stream_close(resource)
    flush_ready(id)
  end

  defp flush_ready(nil), do: :ok

  defp flush_ready(id) do
    receive do
      {:snakepit_stream_ready, ^id} -> flush_ready(id)
    after
      0 -> :ok
    end
  end
end
