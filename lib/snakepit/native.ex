defmodule Snakepit.Native do
  # NIF stubs only. Every function here is replaced when the library loads; wrappers
  # with documentation and argument checks live in the public modules.
  @moduledoc false
  @on_load :load_nif

  def load_nif do
    path = :filename.join(:code.priv_dir(:snakepit), ~c"native/libsnakepit_nif")
    :erlang.load_nif(path, 0)
  end

  def native_version, do: :erlang.nif_error(:nif_not_loaded)
end
