defmodule Snakepit.Test.FileChunks do
  @moduledoc false
  # A file read as a stream of `bytes`-sized chunks, re-readable like any File.Stream, on
  # every Elixir the project supports. Elixir 1.16 added File.stream!(path, bytes, modes),
  # and 1.20 warns about the (path, modes, bytes) order that 1.14 and 1.15 still need: the
  # old order is called only where the new one does not exist.
  def stream!(path, bytes) when is_integer(bytes) and bytes > 0 do
    if Version.match?(System.version(), ">= 1.16.0"),
      do: File.stream!(path, bytes, []),
      else: File.stream!(path, [], bytes)
  end
end
