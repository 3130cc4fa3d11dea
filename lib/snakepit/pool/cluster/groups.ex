defmodule Snakepit.Pool.Cluster.Groups do
  # The library's own :pg scope (started by the :snakepit application) and its groups: one
  # per pool, holding the pool's manager on every node that runs it, and one holding every
  # node's cluster directory. :pg drops the members of a node that goes down.
  @moduledoc false

  @scope :snakepit_cluster
  @directories :snakepit_directories

  @doc "The :pg scope."
  def scope, do: @scope

  @doc "A child spec starting the scope."
  def child_spec(_opts), do: %{id: @scope, start: {:pg, :start_link, [@scope]}}

  @doc "Joins the calling process (a pool's manager) to the pool's group, when the scope runs."
  def join_pool(pool), do: join({:snakepit_pool, pool})

  @doc "Joins the calling process (a node's directory) to the directories' group."
  def join_directories, do: join(@directories)

  @doc "The nodes where `pool` runs (its managers' nodes), this one included."
  def pool_nodes(pool),
    do: {:snakepit_pool, pool} |> members() |> Enum.map(&node/1) |> Enum.uniq()

  @doc "Every node's directory but the caller."
  def other_directories, do: members(@directories) -- [self()]

  @doc "The nodes running a cluster directory (so Snakepit), this one first."
  def directory_nodes do
    others = for pid <- members(@directories), node(pid) != node(), do: node(pid)
    [node() | Enum.uniq(others)]
  end

  @doc "Every pool of every node, as `%{node => [pool]}`."
  def pools_by_node do
    if Process.whereis(@scope) do
      for {:snakepit_pool, pool} <- :pg.which_groups(@scope),
          pid <- :pg.get_members(@scope, {:snakepit_pool, pool}),
          reduce: %{} do
        acc -> Map.update(acc, node(pid), [pool], &Enum.sort([pool | &1]))
      end
    else
      %{}
    end
  end

  defp join(group) do
    if Process.whereis(@scope), do: :pg.join(@scope, group, self())
    :ok
  end

  defp members(group),
    do: if(Process.whereis(@scope), do: :pg.get_members(@scope, group), else: [])
end
