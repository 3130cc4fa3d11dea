defmodule Snakepit.Marc.Source do
  # What the read functions accept, and how bytes are pulled from each kind of source.
  @moduledoc false

  @accepted "a file path (or {:file, path}), a binary of MARC data (or {:binary, data}), " <>
              "iodata, an IO device (pid) opened in binary mode, or an enumerable of binaries " <>
              "(e.g. File.stream!(path, 65_536) on Elixir 1.16+, IO.binstream(device, 65_536))"

  @typedoc "A classified source."
  @type t ::
          {:file, Path.t()}
          | {:binary, binary}
          | {:device, IO.device()}
          | {:chunks, Enumerable.t()}

  def accepted, do: @accepted

  @doc """
  Classifies what the caller gave. A bare binary is a path when it is short, printable and
  free of MARC's terminator bytes; anything holding 0x1D or 0x1E is data.
  """
  @spec classify!(term) :: t
  def classify!({:file, path}) when is_binary(path), do: {:file, path}
  def classify!({:binary, data}) when is_binary(data), do: {:binary, data}

  def classify!(data) when is_binary(data) do
    if path_like?(data), do: {:file, data}, else: {:binary, data}
  end

  def classify!(pid) when is_pid(pid), do: {:device, pid}
  def classify!(list) when is_list(list), do: {:chunks, list}

  def classify!(other) do
    if Enumerable.impl_for(other) && not is_map_key_struct?(other) do
      {:chunks, other}
    else
      raise ArgumentError, "expected #{@accepted}, got: #{inspect(other, limit: 5)}"
    end
  end

  # Plain maps are enumerable but are never a source of bytes.
  defp is_map_key_struct?(%{__struct__: _}), do: false
  defp is_map_key_struct?(map) when is_map(map), do: true
  defp is_map_key_struct?(_), do: false

  defp path_like?(data) do
    data != "" and byte_size(data) <= 4096 and String.printable?(data) and
      not String.contains?(data, [<<0x1D>>, <<0x1E>>, <<0x1F>>]) and
      sniff(data) not in [:xml, :json]
  end

  @doc """
  Resolves the `:format` option for a classified source: `{format, source}`. `:auto` looks
  at a path's extension, else at the first non-blank byte. Pulled sources (devices,
  enumerables) are read ahead to that byte and handed back as `{:pulled, puller}`, which
  replays what was read. A path that is not a regular file (a FIFO, a device) cannot be
  read twice: it stays `:auto`, and the native reader sniffs it and replays what it read.
  """
  def resolve_format(source, format, chunk_size \\ 65_536)

  def resolve_format({:file, path} = source, :auto, _chunk_size) do
    case path |> Path.extname() |> String.downcase() do
      ".xml" -> {:xml, source}
      ext when ext in [".json", ".jsonl", ".ndjson"] -> {:json, source}
      ext when ext in [".mrk", ".mrk8"] -> {:mrk, source}
      ext when ext in [".mrc", ".dat", ".iso", ".marc", ".mrk21"] -> {:iso2709, source}
      _ -> {sniff_file(path), source}
    end
  end

  def resolve_format({:binary, data} = source, :auto, _chunk_size),
    do: {sniff(data) || :iso2709, source}

  def resolve_format(source, :auto, chunk_size) do
    {format, seen, rest} = read_ahead(puller(source, chunk_size), [])
    {format, {:pulled, replay(Enum.reverse(seen), rest)}}
  end

  def resolve_format(source, format, _chunk_size), do: {format, source}

  defp sniff_file(path) do
    case File.stat(path) do
      {:ok, %File.Stat{type: :regular}} ->
        case File.open(path, [:read, :binary], &IO.binread(&1, 4096)) do
          {:ok, data} when is_binary(data) -> sniff(data) || :iso2709
          _ -> :iso2709
        end

      # Reading ahead here would consume bytes (and a FIFO's open would block).
      {:ok, %File.Stat{type: type}} when type != :directory ->
        :auto

      # Opening reports it, naming the path.
      _ ->
        :iso2709
    end
  end

  defp read_ahead(puller, seen) do
    case puller.() do
      :eof ->
        {:iso2709, seen, fn -> :eof end}

      {chunk, next} ->
        case sniff(chunk) do
          nil -> read_ahead(next, [chunk | seen])
          format -> {format, [chunk | seen], next}
        end
    end
  end

  defp replay([], rest), do: rest
  defp replay([chunk | more], rest), do: fn -> {chunk, replay(more, rest)} end

  @doc "The format a first non-blank byte says: `:xml`, `:json`, `:mrk`, `:iso2709`, or nil (all blank)."
  def sniff(<<c, rest::binary>>) when c in [?\s, ?\t, ?\r, ?\n], do: sniff(rest)
  def sniff(<<0xEF, 0xBB, 0xBF, rest::binary>>), do: sniff(rest)
  def sniff(<<"<", _::binary>>), do: :xml
  def sniff(<<c, _::binary>>) when c in [?{, ?[], do: :json
  def sniff(<<"=", _::binary>>), do: :mrk
  def sniff(<<_, _::binary>>), do: :iso2709
  def sniff(<<>>), do: nil

  @doc """
  A puller: a function returning `{chunk, next_puller}` or `:eof`. Binaries are cut into
  sub-binaries (no copy); enumerables are walked one element at a time, so an infinite
  stream is fine.
  """
  def puller({:binary, data}, chunk_size), do: binary_puller(data, 0, chunk_size)
  def puller({:pulled, puller}, _chunk_size), do: puller

  def puller({:device, device}, chunk_size) do
    fn ->
      case IO.binread(device, chunk_size) do
        :eof ->
          :eof

        {:error, reason} ->
          raise ArgumentError, "reading the IO device failed: #{inspect(reason)}"

        data ->
          {IO.iodata_to_binary(data), puller({:device, device}, chunk_size)}
      end
    end
  end

  def puller({:chunks, enum}, _chunk_size) do
    reducer = fn element, _acc -> {:suspend, element} end
    continuation = &Enumerable.reduce(enum, &1, reducer)
    enum_puller(continuation)
  end

  defp binary_puller(data, offset, _size) when offset >= byte_size(data), do: fn -> :eof end

  defp binary_puller(data, offset, size) do
    fn ->
      len = min(size, byte_size(data) - offset)
      {binary_part(data, offset, len), binary_puller(data, offset + len, size)}
    end
  end

  defp enum_puller(continuation) do
    fn ->
      case continuation.({:cont, nil}) do
        {:suspended, element, next} -> {chunk!(element), enum_puller(next)}
        {:done, _} -> :eof
        {:halted, _} -> :eof
      end
    end
  end

  defp chunk!(binary) when is_binary(binary), do: binary
  defp chunk!(byte) when is_integer(byte) and byte in 0..255, do: <<byte>>

  defp chunk!(list) when is_list(list) do
    IO.iodata_to_binary(list)
  rescue
    ArgumentError ->
      raise ArgumentError, "expected iodata or binaries, got: #{inspect(list, limit: 5)}"
  end

  defp chunk!(other),
    do:
      raise(
        ArgumentError,
        "a chunk must be a binary (or iodata), got: #{inspect(other, limit: 5)}"
      )
end
