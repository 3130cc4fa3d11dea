# Timing helpers shared by the bench scripts (`Code.require_file("timing.exs", __DIR__)`).

defmodule Bench.Timing do
  @doc "`{seconds, result}` of the fastest of `runs` calls of `fun`, each after a GC."
  def best(runs, fun) do
    Enum.map(1..runs, fn _ ->
      :erlang.garbage_collect()
      {us, result} = :timer.tc(fun)
      {us / 1_000_000, result}
    end)
    |> Enum.min_by(&elem(&1, 0))
  end

  @doc "Median µs of `runs` calls of `fun`, each after a GC, after one warm-up call."
  def median_us(runs, fun) do
    fun.()

    times =
      for _ <- 1..runs do
        :erlang.garbage_collect()
        {us, _} = :timer.tc(fun)
        us
      end

    Enum.at(Enum.sort(times), div(runs, 2))
  end
end
