defmodule Snakepit.Pool.Jitter do
  # Per-worker limits from a pool's limits, so workers started together do not all reach
  # them together.
  @moduledoc false

  @doc """
  A per-worker limit from a pool limit: uniformly within the top 10% of it, never above.
  `:infinity` stays `:infinity`.
  """
  @spec jitter(pos_integer | :infinity) :: pos_integer | :infinity
  def jitter(:infinity), do: :infinity

  def jitter(limit) when is_integer(limit) and limit > 0,
    do: limit - :rand.uniform(div(limit, 10) + 1) + 1
end
