defmodule Snakepit.Marc.Extract do
  # The stream behind Snakepit.Marc.extract/3. ISO 2709 files and binaries go the fast way:
  # a small one read whole by one native call (`whole_input/5`), a bigger one in framed
  # batches (as fan-out uses them), a few a native call; either builds only the maps of
  # selected values. Other sources (MARC-in-JSON, MARCXML, devices, enumerables)
  # are read as lazy records, each extracted from its bytes.
  @moduledoc false

  alias Snakepit.{Marc, Native}
  alias Snakepit.Marc.{Options, Source, Spec, WholeInput}
  alias Snakepit.Marc.Extract.{Group, SmallFile}

  def stream(source, specs, opts), do: stream(source, specs, opts, :whole_if_small)

  @doc false
  # `stream/3` with `how` an ISO 2709 input is read: `:whole_if_small` (`stream/3`'s way),
  # `:streamed` (through the stream, as big inputs are, whatever the size: what an input
  # read whole must give too, and the bench's baseline) or `{:runs, runs}` (a small binary
  # read whole, cut into `runs`, see `whole/5`), for the tests.
  def stream(source, specs, opts, how) when is_list(opts) do
    {spec_opts, read_opts} = Keyword.split(opts, Spec.Options.keys())
    compiled = compiled!(specs, spec_opts)
    # Checked now, so that a bad option fails at the call, not when the stream runs.
    {fan_opts, stream_opts} = Keyword.split(read_opts, fan_out_keys())
    Options.validate!(fan_opts, :fan_out)
    config = Options.validate!(stream_opts, :stream)
    Stream.flat_map([source], &values(&1, compiled, config, read_opts, how))
  end

  def stream(_source, _specs, opts, _how),
    do: raise(ArgumentError, "options must be a keyword list, got: #{inspect(opts)}")

  @doc """
  The `:extract` pool command run in Elixir: every record of `data` (ISO 2709: a binary, or
  a `%Snakepit.Marc.Batch{}` whose offsets the errors keep) at once, as `{:ok, items}` (a
  map per record, errors in place in `:permissive`) or, in `:strict`,
  `{:error, %ParseError{}}` for the first bad record.
  """
  def all(data, specs, opts \\ [])

  # A group (`Snakepit.Marc.Extract.Group`) answered with its native work only: a job whose
  # items the caller builds.
  def all(%Group{batches: batches, answer: :outcomes} = group, specs, opts) do
    {_bin, compiled, native, _base, _first, done} = command(group, specs, opts)
    done.({:ok, [Spec.outcomes(batches, compiled, native)]})
  end

  # A group: the items of all its batches, in order.
  def all(%Group{batches: batches} = group, specs, opts) do
    {_bin, compiled, native, _base, _first, done} = command(group, specs, opts)
    done.({:ok, Spec.batches(batches, compiled, native)})
  end

  # A whole binary or small file: cut into runs extracted in parallel while this process
  # builds the maps.
  def all(data, specs, opts) when is_binary(data) or is_struct(data, SmallFile),
    do: whole_command(nil, data, specs, opts)

  def all(data, specs, opts) do
    {bin, compiled, native, base, first, done} = command(data, specs, opts)
    {:ok, _items, _skipped} = answer = Spec.batch(bin, compiled, native, base, first)
    done.(answer)
  end

  @doc """
  `all/3` of a whole binary or `Snakepit.Marc.Extract.SmallFile`, its native work done on
  `threads`, a `:thread` pool worker's native threads held by this process
  (`c:Snakepit.Pool.Commands.run_with_threads/3`), while this process builds the maps. A
  small file no longer small and regular is `{:ok, :stream}`.
  """
  def all_with_threads(threads, data, specs, opts \\ [])
      when is_binary(data) or is_struct(data, SmallFile),
      do: whole_command(threads, data, specs, opts)

  # `threads`: `nil` for rayon's global threads.
  defp whole_command(threads, data, specs, opts) do
    {compiled, native, done} = prepared(specs, opts)
    {ref, names, runs} = {Spec.ref(compiled), compiled.names, WholeInput.runs()}

    answers =
      case data do
        %SmallFile{path: path} ->
          Native.extract_small_file(
            threads,
            path,
            ref,
            names,
            native,
            runs,
            WholeInput.max_bytes()
          )

        bin ->
          {bin, 0, 0} = parts!(bin)
          {:ok, Native.extract_input(threads, bin, ref, names, native, runs)}
      end

    case answers do
      {:ok, answers} -> done.({:ok, answers})
      :stream -> {:ok, :stream}
    end
  end

  @doc """
  The `:extract` command's arguments checked and made ready, for `all/3` and for the
  `:thread` profile's native command: `{binary, compiled, native_config, base_offset,
  first_index, done}`, where `done` turns the native answer into the command's result.
  """
  def command(data, specs, opts) when is_list(opts) do
    {bin, base, first} = parts!(data)
    {compiled, native, done} = prepared(specs, opts)
    {bin, compiled, native, base, first, answer_done(data, done)}
  end

  def command(_data, _specs, opts),
    do: raise(ArgumentError, "options must be a keyword list, got: #{inspect(opts)}")

  # The specs compiled, the native read config and the `done` of `command/3`.
  defp prepared(specs, opts) when is_list(opts) do
    {spec_opts, read_opts} = Keyword.split(opts, Spec.Options.keys())
    compiled = compiled!(specs, spec_opts)
    config = Options.validate!(read_opts, :read)
    native = %{read_config(config) | mode: worker_mode(config.mode)}

    done = fn
      # A group's answers, one a batch: its items are theirs, in order.
      {:ok, answers} when is_list(answers) ->
        done_group(answers, config.mode)

      {:ok, items, skipped} ->
        Snakepit.Marc.ReadEvents.items(items, skipped)
        strict_result(config.mode, items)

      other ->
        other
    end

    {compiled, native, done}
  end

  defp prepared(_specs, opts),
    do: raise(ArgumentError, "options must be a keyword list, got: #{inspect(opts)}")

  # The job of a group answered with its native work only is the answer itself.
  defp answer_done(%Group{answer: :outcomes}, _done), do: &Function.identity/1
  defp answer_done(_data, done), do: done

  defp done_group(answers, mode) do
    case Enum.find(answers, &match?({:error, _}, &1)) do
      nil ->
        Enum.flat_map(answers, fn {:ok, items, skipped} ->
          Snakepit.Marc.ReadEvents.items(items, skipped)
          items
        end)
        |> then(&strict_result(mode, &1))

      error ->
        error
    end
  end

  # A group's batches go to native code as a list, where a binary would be. A group
  # answered with its native work only says so where a binary gives its first record's
  # index (the `:thread` profile's `extract` command reads it there).
  defp parts!(%Group{batches: batches, answer: :outcomes}),
    do: {Spec.batch_parts(batches), 0, :outcomes}

  defp parts!(%Group{batches: batches}),
    do: {Spec.batch_parts(batches), 0, 0}

  defp parts!(data), do: Snakepit.Marc.Batch.parts!(data, "extract/3")

  defp compiled!(%Spec{} = compiled, []), do: compiled

  defp compiled!(%Spec{}, spec_opts) do
    raise ArgumentError,
          "extraction options #{inspect(Keyword.keys(spec_opts))} go to Snakepit.Marc.Spec.compile!/2 " <>
            "when the spec is already compiled"
  end

  defp compiled!(specs, spec_opts), do: Spec.compile!(specs, spec_opts)

  defp values(source, compiled, config, read_opts, how) do
    cond do
      Enum.any?(fan_out_keys(), &Keyword.has_key?(read_opts, &1)) ->
        fan_out(source, compiled, config, read_opts)

      iso2709_source?(source, config.format) ->
        fast(source, compiled, config, read_opts, how)

      true ->
        lazy(source, compiled, read_opts)
    end
  end

  # `pool:`: each unit of batches is an `:extract` command of the pool (on a `:thread` pool,
  # run on its native threads), sent by fan-out processes, `workers:` of them. `workers:`
  # alone: the batches are extracted in the fan-out processes. Either way, in
  # strict mode the batches are read permissively and cut at their first bad record, so the
  # values before it arrive and then it raises, as in `map/3`.
  #
  # Work goes out a few batches at a time (`Snakepit.Marc.FanOut.run_batch_groups/4`; a
  # `Snakepit.Marc.Extract.Group` is one `:extract` request). `workers:` alone: the workers
  # do only the native work of their batches and this process builds the terms, as the
  # one-process path does, so no map is copied from worker to consumer. A pool on this node:
  # its threads build the maps too, in parallel, and a fan-out process relays them. A batch
  # that may run on another node (`nodes: :cluster`) is a request of its own.
  #
  # A small input (`Snakepit.Marc.WholeInput`) is not fanned out: with `workers:` alone it
  # goes the one-process way, which already keeps every core busy (fan-out processes only
  # added hops: 0.56-0.90x of its rate on the corpus files); with a pool on this node it is
  # one request (`whole_in_pool/5`). Not with a `:timeout`, which is per batch.
  defp fan_out(source, compiled, config, opts) do
    case Keyword.pop(opts, :pool) do
      {nil, opts} ->
        native = %{read_config(config) | mode: worker_mode(config.mode)}

        whole =
          if Keyword.has_key?(opts, :timeout),
            do: :stream,
            else: whole_input(source, compiled, config, native, WholeInput.runs())

        case whole do
          {:ok, items} ->
            items

          :stream ->
            source |> fan_out_local(compiled, native, opts) |> finish_jobs(compiled, config)
        end

      {pool, opts} ->
        if Keyword.get(opts, :nodes, :local) == :local and not Keyword.get(opts, :retry, false),
          do: fan_out_pool_groups(source, compiled, config, pool, opts),
          else: fan_out_pool(source, compiled, pool, opts)
    end
  end

  # `config`: the read options validated (`stream/4` did it once).
  defp fan_out_pool_groups(source, compiled, config, pool, opts) do
    request_opts = Snakepit.Marc.FanOut.pool_request_opts(Keyword.take(opts, fan_out_keys()))

    whole =
      case WholeInput.source(source, config.format) do
        {:binary, bin} -> whole_in_pool(bin, compiled, pool, opts, request_opts)
        {:file, path} -> whole_in_pool(%SmallFile{path: path}, compiled, pool, opts, request_opts)
        :stream -> :stream
      end

    case whole do
      :stream -> pool_groups(source, compiled, config, pool, opts, request_opts)
      items -> items
    end
  end

  # A small input is one `:extract` request of the whole binary: on a `:thread` pool its
  # threads do the native work while this process builds the maps (nothing is copied
  # between processes); on a `:process` pool one worker extracts it in parallel natively.
  # In strict mode it is read permissively and cut at its first bad record, as a fan-out's
  # batches are: the values before it arrive, then it raises.
  defp whole_in_pool(data, compiled, pool, opts, request_opts) do
    {parse_opts, strict} =
      opts |> Keyword.drop(fan_out_keys()) |> Snakepit.Marc.FanOut.worker_parse_opts()

    case Snakepit.Pool.run(pool, {:extract, [data, compiled, parse_opts]}, request_opts) do
      # A file that is no longer small and regular.
      {:ok, :stream} ->
        :stream

      {:ok, items} ->
        case Snakepit.Marc.FanOut.until_error(items, strict) do
          {:ok, items} -> items
          {:partial, items, error} -> Stream.concat(items, Stream.map([error], &raise/1))
        end

      {:error, reason} ->
        timeout = Keyword.get(request_opts, :timeout)
        raise Snakepit.Error.new(reason, pool: pool, command: :extract, timeout: timeout)
    end
  end

  # Each unit of batches is one `:extract` request of the pool, answered with its native
  # work only (`answer: :outcomes`): the pool's workers (on a `:thread` pool, its native
  # threads) parse and select, and this process builds the maps, as with `workers:` alone.
  # Built in the pool, each map was copied twice on its way here (to the fan-out process,
  # then on to this one): on big inputs that made the pool slower than one process.
  defp pool_groups(source, compiled, config, pool, opts, request_opts) do
    timeout = Keyword.get(opts, :timeout, :infinity)

    work = fn batches, parse_opts, _strict ->
      group = %Group{batches: batches, answer: :outcomes}

      case Snakepit.Pool.run(pool, {:extract, [group, compiled, parse_opts]}, request_opts) do
        {:ok, [_job]} = job ->
          job

        {:error, reason} ->
          raise Snakepit.Error.new(reason, pool: pool, command: :extract, timeout: timeout)
      end
    end

    source
    |> run_groups(Keyword.drop(opts, [:nodes, :retry]), work)
    |> finish_jobs(compiled, config)
  end

  # A small input (as `whole_input/5` takes them) cut into batches at once, natively: no
  # stream, no reader thread.
  defp small_batches(source, opts) do
    config = Options.validate!(Keyword.drop(opts, fan_out_keys()), :stream)

    with {:ok, bin} <- small_input(source, config.format) do
      # Batches of about a run each (as `whole/5` cuts): every worker gets work at once,
      # and the first maps are built while the rest is extracted.
      {count, min_bytes} = WholeInput.runs()
      max_bytes = min(config.max_batch_bytes, max(div(byte_size(bin), count), min_bytes))

      {:ok,
       for {data, base, first, count} <-
             Native.small_batches(bin, config.batch_size, max_bytes) do
         %Snakepit.Marc.Batch{data: data, base_offset: base, first_index: first, count: count}
       end}
    end
  end

  # The whole bytes of a small ISO 2709 binary or regular file, or `:stream`.
  defp small_input(source, format) do
    case WholeInput.source(source, format) do
      {:binary, bin} -> {:ok, bin}
      {:file, path} -> Native.read_small_file(path, WholeInput.max_bytes())
      :stream -> :stream
    end
  end

  # The workers' jobs in order, each finished here into its items; in strict mode the items
  # before a bad record arrive, then it raises.
  defp finish_jobs(jobs, compiled, config) do
    native = %{read_config(config) | mode: worker_mode(config.mode)}
    Snakepit.Marc.Stream.items_of_batches(jobs, config.mode, &job_items(&1, compiled, native))
  end

  # A finished native job's items, its read events reported.
  defp job_items(job, compiled, native) do
    job
    |> Spec.finish_batches(compiled, native)
    |> Enum.flat_map(fn {:ok, items, skipped} ->
      Snakepit.Marc.ReadEvents.items(items, skipped)
      items
    end)
  end

  defp fan_out_pool(source, compiled, pool, opts) do
    timeout = Keyword.get(opts, :timeout, :infinity)
    request_opts = Snakepit.Marc.FanOut.pool_request_opts(Keyword.take(opts, fan_out_keys()))

    # The fan-out processes run here; each batch's command goes where request_opts say.
    local_opts = Keyword.drop(opts, [:nodes, :retry])

    Snakepit.Marc.FanOut.run_batches(source, local_opts, fn batch, parse_opts, strict ->
      case Snakepit.Pool.run(pool, {:extract, [batch, compiled, parse_opts]}, request_opts) do
        {:ok, items} ->
          Snakepit.Marc.FanOut.until_error(items, strict)

        {:error, %Snakepit.Marc.ParseError{}} = error ->
          error

        {:error, reason} ->
          raise Snakepit.Error.new(reason, pool: pool, command: :extract, timeout: timeout)
      end
    end)
  end

  # `native`: the read config of the consumer's own finishing, which the workers' native
  # work must share (in strict mode, read permissively, as `parse_opts` are).
  defp fan_out_local(source, compiled, native, opts) do
    work = fn batches, _parse_opts, _strict ->
      {:ok, [Spec.outcomes(batches, compiled, native)]}
    end

    run_groups(source, opts, work)
  end

  # The fan-out of `work` over the batches of `source`, a few a unit: a small input is cut
  # at once, natively (no stream, no reader thread), any other read through the stream.
  defp run_groups(source, opts, work) do
    case small_batches(source, opts) do
      {:ok, batches} ->
        Snakepit.Marc.FanOut.run_groups_of(batches, opts, batches_per_unit(opts), work)

      :stream ->
        Snakepit.Marc.FanOut.run_batch_groups(source, opts, batches_per_unit(opts), work)
    end
  end

  # Batches per unit of fan-out work, as many as the one-process path hands native code at
  # once: a unit's fixed costs (messages, scheduling; with a pool, a request of about 40 us)
  # are then paid once for several batches. A `:timeout` is per batch, so with one each
  # unit is a single batch.
  defp batches_per_unit(opts) do
    if Keyword.get(opts, :timeout, :infinity) == :infinity, do: batches_per_call(), else: 1
  end

  defp fan_out_keys, do: Options.spec(:fan_out) |> Keyword.keys()

  defp strict_result(:strict, items) do
    case Enum.find(items, &match?({:error, _}, &1)) do
      {:error, _} = error -> error
      nil -> {:ok, items}
    end
  end

  defp strict_result(_mode, items), do: {:ok, items}

  @doc false
  # Whether `source` is read as ISO 2709 (by extension or first bytes): lint_stream/2 asks too.
  def iso2709_source?(source, format) do
    case Source.classify!(source) do
      {kind, _} = classified when kind in [:file, :binary] ->
        elem(Source.resolve_format(classified, format), 0) in [:iso2709, :auto]

      _ ->
        format == :iso2709
    end
  end

  # Strict mode: the values of the records before a bad one still arrive, then it raises.
  defp fast(source, compiled, config, read_opts, how) do
    native = %{read_config(config) | mode: worker_mode(config.mode)}

    whole =
      case how do
        :streamed -> :stream
        :whole_if_small -> whole_input(source, compiled, config, native, WholeInput.runs())
        {:runs, runs} -> whole_input(source, compiled, config, native, runs)
      end

    case whole do
      {:ok, items} -> items
      :stream -> streamed(source, compiled, config, native, read_opts)
    end
  end

  # A small input (`Snakepit.Marc.WholeInput`) is extracted in one native call. A file the
  # native call does not read (not regular, bigger, unreadable) goes the stream's way,
  # which reports what is wrong with it.
  defp whole_input(source, compiled, config, native, runs) do
    case WholeInput.source(source, config.format) do
      {:file, path} -> small_file(path, compiled, config, native, runs)
      {:binary, bin} -> {:ok, whole(bin, compiled, config, native, runs)}
      :stream -> :stream
    end
  end

  defp small_file(path, compiled, config, native, runs) do
    answers =
      Native.extract_small_file(
        nil,
        path,
        Spec.ref(compiled),
        compiled.names,
        native,
        runs,
        WholeInput.max_bytes()
      )

    case answers do
      {:ok, answers} -> {:ok, items_of_answers(answers, config)}
      :stream -> :stream
    end
  end

  # The values of a whole ISO 2709 input in memory, extracted in one native call: framed
  # into `runs` (`{count, min_bytes}`: about `count` runs, none under `min_bytes` but the
  # last), extracted in parallel while the runs done are built. What the stream gives for
  # the same bytes.
  defp whole(bin, compiled, config, native, runs) do
    bin
    |> then(&Native.extract_input(nil, &1, Spec.ref(compiled), compiled.names, native, runs))
    |> items_of_answers(config)
  end

  defp items_of_answers(answers, config) do
    Snakepit.Marc.Stream.items_of_batches(answers, config.mode, fn {:ok, items, skipped} ->
      Snakepit.Marc.ReadEvents.items(items, skipped)
      items
    end)
  end

  defp streamed(source, compiled, config, native, read_opts) do
    # Batches go to native code a few at a time, parsed and extracted there in parallel. Each
    # group's items are one list, so a record passes through one stream stage, not two: on
    # small records that stage costs as much as extracting. A few groups are started ahead,
    # so native threads extract them while this process builds and hands on the terms of
    # the one before.
    source
    |> Marc.batches(read_opts)
    |> Stream.chunk_every(batches_per_call())
    |> Stream.map(&Spec.start_batches(&1, compiled, native))
    |> Snakepit.Marc.Stream.ahead()
    |> Snakepit.Marc.Stream.items_of_batches(config.mode, &job_items(&1, compiled, native))
  end

  # Batches per native call in the one-process path: enough to keep every core busy.
  defp batches_per_call, do: 2 * System.schedulers_online()

  defp lazy(source, compiled, read_opts) do
    source
    |> Marc.stream(Keyword.put(read_opts, :records, :lazy))
    |> Stream.map(fn
      {:error, _} = error -> error
      record -> Spec.extract(record, compiled)
    end)
  end

  defp worker_mode(:strict), do: :permissive
  defp worker_mode(mode), do: mode

  defp read_config(config), do: Options.native_read(config)
end
