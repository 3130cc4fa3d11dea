defmodule Snakepit.Marc.Extract.SmallFile do
  # A regular file small enough to be read whole (`Snakepit.Marc.WholeInput`), given to the
  # `:extract` command in place of a binary: the command reads it in the same native call
  # that extracts it (a separate read would cost another hop to a dirty scheduler and a
  # copy). `{:ok, :stream}` when the file is no longer regular and small, which the caller
  # then reads as a stream. Only ever sent to a pool on the caller's node.
  @moduledoc false

  @enforce_keys [:path]
  defstruct [:path]

  @type t :: %__MODULE__{path: Path.t()}
end
