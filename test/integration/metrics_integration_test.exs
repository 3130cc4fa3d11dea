defmodule Snakepit.Integration.MetricsTest do
  # Real components against the metrics endpoint (`make test-integration`, docs/metrics.md):
  # a Prometheus server (Debian's prometheus) scrapes it and the values are read back through
  # Prometheus's HTTP query API; headless Chromium (Debian's chromium) renders the status
  # page while a pool is busy. Excluded from `mix test` (test_helper.exs).
  use Snakepit.PoolCase, async: false

  @moduletag :integration
  @moduletag timeout: 180_000

  alias Snakepit.Test.MetricsText

  @artifacts Path.expand("../artifacts", __DIR__)
  @chromium "/usr/bin/chromium"

  setup do
    start_supervised!({Snakepit.Metrics, port: 0, refresh_ms: 200})
    {:ok, {{127, 0, 0, 1}, port}} = Snakepit.Metrics.endpoint()
    :inets.start()

    tmp =
      Path.join(System.tmp_dir!(), "snakepit_integration_#{System.unique_integer([:positive])}")

    File.mkdir_p!(tmp)
    on_exit(fn -> File.rm_rf!(tmp) end)
    %{port: port, tmp: tmp}
  end

  test "Prometheus scrapes the endpoint and its query API gives the values back", ctx do
    pool = start_pool!(commands: Snakepit.Test.Commands, pool_size: 2)
    for _ <- 1..5, do: {:ok, _} = Snakepit.execute(:ping, [1], pool: pool)
    {:error, _} = Snakepit.execute(:parse, ["not marc\x1D"], pool: pool)

    prometheus = start_prometheus!(ctx)

    # Prometheus read the whole page: the target is up, with no scrape error.
    eventually(fn -> query(prometheus, ~s(up{job="snakepit"})) == [1.0] end, 30_000)
    [target] = get_json(prometheus, "/api/v1/targets")["data"]["activeTargets"]
    assert target["health"] == "up"
    assert target["lastError"] == ""

    ok = ~s(snakepit_requests_total{pool="#{pool}",command="ping",result="ok"})
    error = ~s(snakepit_requests_total{pool="#{pool}",command="parse",result="error"})
    assert query(prometheus, ok) == [5.0]
    assert query(prometheus, error) == [1.0]
    assert query(prometheus, ~s(snakepit_pool_capacity{pool="#{pool}"})) == [2.0]
    assert query(prometheus, ~s(snakepit_pool_workers{pool="#{pool}"})) == [2.0]

    # The histograms are histograms to Prometheus: its quantile function reads them.
    count = ~s(snakepit_request_duration_seconds_count{pool="#{pool}",command="ping"})
    assert query(prometheus, count) == [5.0]

    [p99] =
      query(
        prometheus,
        ~s[histogram_quantile(0.99, snakepit_request_duration_seconds_bucket{pool="#{pool}",command="ping"})]
      )

    assert p99 > 0 and p99 <= 10

    # New requests show at the next scrapes.
    for _ <- 1..3, do: {:ok, _} = Snakepit.execute(:ping, [1], pool: pool)
    eventually(fn -> query(prometheus, ok) == [8.0] end, 30_000)

    # What Prometheus stored is what the endpoint served.
    served = MetricsText.parse(Snakepit.Metrics.render())
    assert served[ok] == 8
  end

  test "headless Chromium renders the status page of a busy pool", ctx do
    pool =
      start_pool!(
        commands: Snakepit.Test.Commands,
        pool_size: 2,
        max_queue_size: 10,
        queue_timeout: 60_000
      )

    # Both workers busy for the page's whole life, and two callers queued behind them.
    busy =
      for _ <- 1..4,
          do:
            Task.async(fn -> Snakepit.execute(:sleep, [20_000], pool: pool, timeout: 30_000) end)

    eventually(fn -> status!(pool).load == 2 and status!(pool).queue_length == 2 end, 5000)

    url = "http://127.0.0.1:#{ctx.port}/"
    dom = chromium!(ctx, ["--dump-dom", url])

    # Drawn by the page's script from /status.json, not by the server.
    [section] = Regex.run(~r/<section data-pool="#{pool}"[^>]*>/, dom)
    assert section =~ ~s(data-load="2")
    assert section =~ ~s(data-capacity="2")
    assert section =~ ~s(data-queue="2")
    assert dom =~ ~r/<span id="refreshes">[1-9]\d*<\/span>/
    refute dom =~ ~s(<span id="updated">never</span>)
    assert length(Regex.scan(~r/<tr class="full" data-worker="\d+">/, dom)) == 2

    File.mkdir_p!(@artifacts)
    png = Path.join(@artifacts, "status_page.png")
    File.rm(png)
    chromium!(ctx, ["--screenshot=#{png}", "--window-size=1000,700", url])
    assert <<0x89, "PNG", _::binary>> = File.read!(png)

    Enum.each(busy, &Task.shutdown(&1, :brutal_kill))
  end

  # -- Prometheus ---------------------------------------------------------------------------

  defp start_prometheus!(%{port: port, tmp: tmp}) do
    listen = free_port()
    config = Path.join(tmp, "prometheus.yml")

    File.write!(config, """
    global:
      scrape_interval: 1s
      scrape_timeout: 1s
    scrape_configs:
      - job_name: snakepit
        metrics_path: /metrics
        static_configs:
          - targets: ["127.0.0.1:#{port}"]
    """)

    args = [
      "--config.file=#{config}",
      "--storage.tsdb.path=#{Path.join(tmp, "data")}",
      "--web.listen-address=127.0.0.1:#{listen}",
      "--log.level=warn"
    ]

    os_pid =
      spawn_os!(System.find_executable("prometheus") || flunk("no prometheus on PATH"), args, tmp)

    base = "http://127.0.0.1:#{listen}"

    eventually(
      fn ->
        match?({:ok, {{_, 200, _}, _, _}}, :httpc.request(~c"#{base}/-/ready"))
      end,
      30_000
    )

    _ = os_pid
    base
  end

  # The values of an instant query's result vector, as floats.
  defp query(base, promql) do
    body = get_json(base, "/api/v1/query?" <> URI.encode_query(query: promql))
    assert body["status"] == "success", inspect(body)

    for %{"value" => [_time, value]} <- body["data"]["result"] do
      {float, ""} = Float.parse(value)
      float
    end
  end

  defp get_json(base, path) do
    {:ok, {{_, 200, _}, _, body}} =
      :httpc.request(:get, {~c"#{base}#{path}", []}, [timeout: 10_000], body_format: :binary)

    Snakepit.NativeBuild.decode_json!(body)
  end

  # -- Chromium -----------------------------------------------------------------------------

  defp chromium!(%{tmp: tmp}, args) do
    File.exists?(@chromium) || flunk("no #{@chromium}: run scripts/integration_setup.sh")
    profile = Path.join(tmp, "chromium-#{System.unique_integer([:positive])}")

    flags = [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--user-data-dir=#{profile}",
      # Lets the page's script fetch /status.json and draw before the DOM is taken.
      "--virtual-time-budget=3000"
    ]

    # Its stderr (D-Bus complaints of a machine without a session bus) goes to a log, shown
    # only if it fails.
    log = profile <> ".log"
    script = ~s(exec "$0" "$@" 2>"#{log}")

    case System.cmd("sh", ["-c", script, @chromium | flags ++ args]) do
      {out, 0} -> out
      {_out, status} -> flunk("chromium exited with #{status}:\n" <> File.read!(log))
    end
  end

  # -- helpers ------------------------------------------------------------------------------

  defp free_port do
    {:ok, socket} = :gen_tcp.listen(0, ip: {127, 0, 0, 1})
    {:ok, port} = :inet.port(socket)
    :gen_tcp.close(socket)
    port
  end

  # Starts `exe` in the background; it is killed (by its OS pid) when the test ends.
  defp spawn_os!(exe, args, dir) do
    port =
      Port.open({:spawn_executable, exe}, [
        :binary,
        :exit_status,
        :stderr_to_stdout,
        args: args,
        cd: dir
      ])

    {:os_pid, os_pid} = Port.info(port, :os_pid)
    on_exit(fn -> System.cmd("kill", ["-TERM", Integer.to_string(os_pid)]) end)
    os_pid
  end
end
