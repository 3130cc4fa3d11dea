defmodule Snakepit.Pool.Cluster do
  @moduledoc false
  def run(pool, request, timeout, priority, _retry),
    do: Snakepit.Pool.Router.run(pool, request, timeout, priority)
end
