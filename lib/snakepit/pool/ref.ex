defmodule Snakepit.Pool.Ref do
  # What callers need to reach a running pool without asking any process: its manager, the
  # ETS table holding the routable workers, the :atomics counting queued callers, the profile
  # module and the normalised config. Published in :persistent_term once per manager start
  # (not per worker change, which goes to ETS), so lookups are free on the hot path.
  # Also the registered names of a pool's processes, which every part of the pool may look
  # up without depending on the module that starts them.
  @moduledoc false

  defstruct [:name, :manager, :table, :waiting, :profile, :config]

  @type t :: %__MODULE__{}

  def publish(%__MODULE__{name: name} = ref), do: :persistent_term.put(key(name), ref)

  def unpublish(name, manager) do
    case lookup(name) do
      %__MODULE__{manager: ^manager} -> :persistent_term.erase(key(name))
      _ -> false
    end
  end

  @spec lookup(atom) :: t | nil
  def lookup(name), do: :persistent_term.get(key(name), nil)

  def all do
    for {{__MODULE__, _name}, %__MODULE__{} = ref} <- :persistent_term.get(), do: ref
  end

  defp key(name), do: {__MODULE__, name}

  # The names are spelled out, not built from the modules, so this module, which every part
  # of the pool uses, depends on none of them.
  @doc "The registered name of the pool's supervisor."
  def supervisor(pool), do: Module.concat(["Snakepit.Pool", pool])

  @doc "The registered name of the pool's worker supervisor."
  def worker_supervisor(pool), do: Module.concat(["Snakepit.Pool.WorkerSupervisor", pool])

  @doc """
  The ETS table of the changes `Snakepit.update_pool/2` made to the pool's config, owned by
  the pool's supervisor: a restarted manager or lifecycle process starts from them, and they
  go with the pool.
  """
  def overrides(pool), do: Module.concat(["Snakepit.Pool.Overrides", pool])

  @doc "Whether the pool's supervisor runs (the pool exists, possibly restarting a child)."
  def alive?(pool) do
    case Process.whereis(supervisor(pool)) do
      nil -> false
      pid -> Process.alive?(pid)
    end
  end
end
