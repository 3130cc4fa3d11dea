defmodule Snakepit.Marc.WholeInput do
  # Small ISO 2709 inputs, read whole by one native call (extract/3 and lint_stream/2): a
  # stream's fixed costs (a reader thread, a few hops between threads a batch; for a file
  # read through the VM's file calls, a few dirty I/O hops) are most of the time a small
  # input takes. Its terms are then all built at once, so only small inputs go this way:
  # on any other, the stream keeps memory flat.
  @moduledoc false

  alias Snakepit.Marc.Source

  # The largest input read whole.
  @max_bytes 4_194_304

  def max_bytes, do: @max_bytes

  @doc """
  How `source` may be read whole: `{:file, path}` (the native call reads it if it is a
  regular file of at most `max_bytes/0`, else says `:stream`), `{:binary, bin}` (an ISO
  2709 binary of at most `max_bytes/0`), or `:stream`.
  """
  def source(source, format) do
    case Source.classify!(source) do
      {:file, _path} = file ->
        file

      {:binary, bin} = classified when byte_size(bin) <= @max_bytes ->
        if elem(Source.resolve_format(classified, format), 0) == :iso2709,
          do: classified,
          else: :stream

      _ ->
        :stream
    end
  end

  @doc """
  Runs an input is cut into, `{count, min_bytes}`: a few a core, so the threads share the
  work and the first run's terms are built while the others are done; none under 16 KB,
  so a tiny input is one run, done on the calling thread without waking another.
  """
  def runs, do: {4 * System.schedulers_online(), 16_384}
end
