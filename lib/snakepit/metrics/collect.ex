defmodule Snakepit.Metrics.Collect do
  # The metric families at this moment, as Snakepit.Metrics.Prometheus renders them: the
  # event metrics from the store's counters, the gauges from each running pool's stats
  # (read here, once per pool: one call to its manager, never on the hot path).
  @moduledoc false

  alias Snakepit.Config
  alias Snakepit.Diagnostics.ProfileInspector
  alias Snakepit.Metrics.{Definitions, Prometheus, Store}

  @doc "Every family: the event metrics in definition order, then the gauges."
  def families(pool_stats \\ pool_stats()), do: event_families() ++ gauge_families(pool_stats)

  @doc "The stats of every running pool (`ProfileInspector.get_pool_stats/1`), by name."
  def pool_stats do
    for name <- Config.pool_names(),
        {:ok, stats} <- [ProfileInspector.get_pool_stats(name)],
        do: stats
  end

  defp event_families do
    per_second = System.convert_time_unit(1, :second, :native)

    Store.specs()
    |> Enum.chunk_by(& &1.name)
    |> Enum.uniq_by(&hd(&1).name)
    |> Enum.map(fn [spec | _] ->
      labels = Enum.map(Definitions.label_names(spec), &Atom.to_string/1)

      samples =
        for {values, ref} <- Store.rows(spec.name),
            sample <- samples(spec, Enum.zip(labels, Tuple.to_list(values)), ref, per_second),
            do: sample

      %{name: spec.name, type: spec.kind, help: spec.help, samples: samples}
    end)
  end

  defp samples(%{kind: :counter, name: name}, labels, ref, _per_second),
    do: [{name, labels, :counters.get(ref, 1)}]

  defp samples(%{kind: :histogram, name: name, seconds: seconds}, labels, ref, per_second) do
    n = length(seconds)
    counts = for i <- 1..(n + 1), do: :counters.get(ref, i)
    sum = :counters.get(ref, n + 2) / per_second
    Prometheus.histogram_samples(name, labels, seconds, counts, sum)
  end

  defp gauge_families(pool_stats) do
    for gauge <- Definitions.gauges() do
      samples =
        for stats <- Enum.sort_by(pool_stats, & &1.pool),
            do: {gauge.name, [{"pool", stats.pool}], gauge_value(gauge.source, stats)}

      %{name: gauge.name, type: :gauge, help: gauge.help, samples: samples}
    end
  end

  defp gauge_value({:workers, key}, stats),
    do: stats.workers |> Enum.map(&Map.get(&1, key, 0)) |> Enum.sum()

  defp gauge_value(path, stats), do: get_in(stats, path)
end
