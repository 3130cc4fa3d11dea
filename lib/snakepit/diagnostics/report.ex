defmodule Snakepit.Diagnostics.Report do
  # Renders ProfileInspector reports as text (for people) or JSON (for tools), and the
  # number formats shared by the diagnostics tasks and the demo.
  @moduledoc false

  @kib 1024
  @mib 1024 * 1024
  @gib 1024 * 1024 * 1024

  # -- JSON ----------------------------------------------------------------------------------

  @doc "The report as JSON text (pids and other non-JSON terms become strings)."
  def json(report), do: report |> jsonable() |> Snakepit.JSON.encode!()

  @doc "Turns a term into one `Snakepit.JSON` can encode."
  def jsonable(%DateTime{} = dt), do: DateTime.to_iso8601(dt)
  def jsonable(%{__struct__: _} = struct), do: struct |> Map.from_struct() |> jsonable()

  def jsonable(map) when is_map(map),
    do: Map.new(map, fn {k, v} -> {json_key(k), jsonable(v)} end)

  def jsonable(list) when is_list(list), do: Enum.map(list, &jsonable/1)
  def jsonable(tuple) when is_tuple(tuple), do: tuple |> Tuple.to_list() |> jsonable()
  def jsonable(float) when is_float(float), do: float
  def jsonable(value) when is_atom(value) or is_number(value), do: value

  def jsonable(bin) when is_binary(bin),
    do: if(String.valid?(bin), do: bin, else: inspect(bin))

  def jsonable(other), do: inspect(other)

  defp json_key(k) when is_atom(k) or is_binary(k), do: k
  defp json_key(k), do: inspect(k)

  # -- text ----------------------------------------------------------------------------------

  @doc """
  The comprehensive report as text lines. Options: `:detailed` (a per-worker table),
  `:recommendations` (each pool's advice), `:color` (ANSI colours for utilisation and
  severities).
  """
  def text(report, opts \\ []) do
    color = Keyword.get(opts, :color, false)
    sys = report.system

    header = [
      "Snakepit on #{report.node}: #{sys.logical_cores} logical cores, " <>
        "#{sys.schedulers_online} schedulers online, #{sys.dirty_cpu_schedulers} dirty CPU " <>
        "schedulers (OTP #{sys.otp_release}, native #{sys.native_version} #{sys.native_build})",
      "#{plural(report.totals.pools, "pool")}, #{plural(report.totals.workers, "worker")}, " <>
        "#{report.totals.used}/#{report.totals.capacity} slots in use, " <>
        "#{bytes(report.totals.memory)} held by workers"
    ]

    warnings = for w <- report.warnings, do: paint("warning: " <> w, :yellow, color)

    pools =
      if report.pools == [],
        do: [["", "No pool is running."]],
        else: Enum.map(report.pools, &pool_text(&1, opts, color))

    Enum.join(List.flatten([header, warnings, pools]), "\n") <> "\n"
  end

  defp pool_text(pool, opts, color) do
    cap = pool.capacity
    mem = pool.memory
    wl = pool.workload

    threads =
      case pool.threads do
        nil -> ""
        t -> ", #{t.per_worker} threads/worker (#{t.live} running)"
      end

    lines = [
      "",
      "#{inspect(pool.pool)}  profile #{inspect(pool.profile)}, " <>
        "#{plural(pool.worker_count, "worker")}#{threads}" <>
        if(pool.retiring > 0, do: ", #{pool.retiring} retiring", else: ""),
      "  capacity    #{cap.used}/#{cap.total} used, #{cap.available} free, utilisation " <>
        paint(pct(pool.utilization), util_color(pool.utilization), color) <>
        ", queue #{pool.queue_length}/#{pool.max_queue_size}",
      "  memory      total #{bytes(mem.total)}, average #{bytes(mem.average)}, " <>
        "max #{bytes(mem.max)}, min #{bytes(mem.min)} (native #{bytes(mem.native_total)})",
      "  workload    #{plural(wl.requests, "request")}, #{plural(wl.errors, "error")}" <>
        command_mix(wl) <> queue_events(wl)
    ]

    detailed = if opts[:detailed], do: worker_table(pool.workers, color), else: []

    recs =
      if opts[:recommendations] do
        ["  recommendations:" | Enum.map(pool.recommendations, &recommendation(&1, color))]
      else
        []
      end

    lines ++ detailed ++ recs
  end

  defp command_mix(%{commands: commands}) when map_size(commands) == 0, do: ""

  defp command_mix(%{commands: commands}) do
    mix =
      commands
      |> Enum.sort_by(fn {_c, s} -> -s.requests end)
      |> Enum.map_join(", ", fn {c, s} ->
        "#{c} #{int(s.requests)} (#{ms(s.avg_exec_ms)} on a worker, #{ms(s.avg_ms)} in all)"
      end)

    ": " <> mix
  end

  defp queue_events(%{queue: q}) do
    parts =
      for {label, n} <- [
            waited: q.capacity_reached,
            saturated: q.saturated,
            timed_out: q.queue_timeouts
          ],
          n > 0,
          do: "#{label} #{n}"

    if parts == [], do: "", else: "; queue: " <> Enum.join(parts, ", ")
  end

  defp worker_table(workers, color) do
    header = ["id", "pid", "status", "load", "memory", "native", "uptime", "requests"]

    rows =
      for w <- workers do
        [
          "#{w.id}",
          inspect(w.pid),
          {Atom.to_string(w.status), status_color(w.status)},
          "#{w.load}/#{w.capacity}",
          bytes(w.memory),
          bytes(w.native_bytes),
          duration(w.uptime_ms),
          int(w.requests)
        ]
      end

    widths =
      for i <- 0..(length(header) - 1) do
        [header | rows]
        |> Enum.map(&(&1 |> Enum.at(i) |> cell_text() |> String.length()))
        |> Enum.max()
      end

    render = fn row ->
      cells =
        row
        |> Enum.zip(widths)
        |> Enum.map(fn {cell, width} ->
          padded = String.pad_trailing(cell_text(cell), width)

          case cell do
            {_text, c} -> paint(padded, c, color)
            _ -> padded
          end
        end)

      String.trim_trailing("    " <> Enum.join(cells, "  "))
    end

    ["  workers:", render.(header) | Enum.map(rows, render)]
  end

  defp cell_text({text, _color}), do: text
  defp cell_text(text), do: text

  defp recommendation(rec, color) do
    tag =
      case rec.severity do
        :ok -> paint("ok  ", :green, color)
        :info -> paint("info", :cyan, color)
        :warning -> paint("warn", :yellow, color)
      end

    "    #{tag} #{rec.topic}: #{rec.message}"
  end

  defp util_color(pct) when pct >= 85, do: :red
  defp util_color(pct) when pct >= 60, do: :yellow
  defp util_color(_pct), do: :green

  defp status_color(:full), do: :red
  defp status_color(:busy), do: :yellow
  defp status_color(:retiring), do: :cyan
  defp status_color(_), do: :green

  @doc "Wraps `text` in an ANSI colour when `enabled`."
  def paint(text, _color, false), do: text

  def paint(text, color, true),
    do: IO.ANSI.format([color, text, :reset], true) |> IO.iodata_to_binary()

  @doc """
  Whether standard output is a terminal that takes colours: the console has columns, or
  (OTP 25 runs Mix without a tty driver, so `:io.columns/0` fails there) ANSI is enabled and
  output goes straight to the console rather than to a captured device.
  """
  def terminal? do
    match?({:ok, _}, :io.columns()) or
      (IO.ANSI.enabled?() and Process.group_leader() == Process.whereis(:user))
  end

  # -- numbers -------------------------------------------------------------------------------

  def bytes(n) when is_integer(n) and n >= @gib, do: "#{Float.round(n / @gib, 2)} GiB"
  def bytes(n) when is_integer(n) and n >= @mib, do: "#{Float.round(n / @mib, 1)} MiB"
  def bytes(n) when is_integer(n) and n >= @kib, do: "#{Float.round(n / @kib, 1)} KiB"
  def bytes(n) when is_integer(n), do: "#{n} B"

  @doc "An integer with thousands separators: 1234567 -> \"1,234,567\"."
  def int(n) when is_float(n), do: int(round(n))

  def int(n) when is_integer(n) and n < 0, do: "-" <> int(-n)

  def int(n) when is_integer(n) do
    n
    |> Integer.to_string()
    |> String.reverse()
    |> String.graphemes()
    |> Enum.chunk_every(3)
    |> Enum.map_join(",", &Enum.join/1)
    |> String.reverse()
  end

  def pct(value), do: "#{:erlang.float_to_binary(value * 1.0, decimals: 1)}%"

  def ms(value) when value < 1, do: "#{round(value * 1000)} µs"
  def ms(value) when value < 1000, do: "#{:erlang.float_to_binary(value * 1.0, decimals: 1)} ms"
  def ms(value), do: "#{:erlang.float_to_binary(value / 1000, decimals: 2)} s"

  def duration(ms) when ms < 1000, do: "#{ms} ms"
  def duration(ms) when ms < 60_000, do: "#{Float.round(ms / 1000, 1)} s"
  def duration(ms) when ms < 3_600_000, do: "#{Float.round(ms / 60_000, 1)} min"
  def duration(ms), do: "#{Float.round(ms / 3_600_000, 1)} h"

  @doc "`n` and `word`, plural unless `n` is 1: \"1 request\", \"2 requests\", \"1,024 bad records\"."
  def plural(1, word), do: "1 #{word}"
  def plural(n, word), do: "#{int(n)} #{word}s"
end
