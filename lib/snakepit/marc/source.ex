defmodule Snakepit.Marc.Source do
  # What the read functions accept, and how bytes are pulled from each kind of source.
  @moduledoc false

  @accepted "a file path (or {:file, path}), a binary of ISO 2709 data (or {:binary, data}), " <>
              "iodata, an IO device (pid) opened in binary mode, or an enumerable of binaries " <>
              "(e.g. File.stream!(path, [], 65_536))"

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
      not String.contains?(data, [<<0x1D>>, <<0x1E>>, <<0x1F>>])
  end

  @doc """
  A puller: a function returning `{chunk, next_puller}` or `:eof`. Binaries are cut into
  sub-binaries (no copy); enumerables are walked one element at a time, so an infinite
  stream is fine.
  """
  def puller({:binary, data}, chunk_size), do: binary_puller(data, 0, chunk_size)

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
