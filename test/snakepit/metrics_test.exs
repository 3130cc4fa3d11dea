defmodule Snakepit.MetricsTest do
  # One Snakepit.Metrics per node: these tests start it themselves, so they run alone.
  use Snakepit.PoolCase, async: false

  alias Snakepit.Metrics
  alias Snakepit.Metrics.{Definitions, Options, Store}
  alias Snakepit.Test.{Corpus, MetricsText}

  @doc_path Path.expand("../../docs/metrics.md", __DIR__)

  defp start_metrics!(opts \\ []) do
    start_supervised!({Metrics, Keyword.merge([port: 0], opts)})
    {:ok, {_ip, port}} = Metrics.endpoint()
    port
  end

  defp samples, do: MetricsText.parse(Metrics.render())

  defp sample(series), do: Map.get(samples(), series, 0)

  defp get(port, path, method \\ :get) do
    :inets.start()
    url = ~c"http://127.0.0.1:#{port}#{path}"

    {:ok, {{_, code, _}, headers, body}} =
      :httpc.request(method, {url, []}, [timeout: 10_000], body_format: :binary)

    {code, Map.new(headers, fn {k, v} -> {to_string(k), to_string(v)} end), body}
  end

  describe "event metrics" do
    setup do
      start_metrics!(duration_buckets: [0.001, 0.05, 10], queue_wait_buckets: [0.001, 0.05, 10])
      :ok
    end

    test "requests by pool, command and result; the duration and queue wait histograms" do
      pool = start_pool!(pool_size: 1)
      for _ <- 1..3, do: assert({:ok, _} = Snakepit.execute(:ping, [1], pool: pool))
      assert {:error, _} = Snakepit.execute(:parse, ["not marc at all\x1D"], pool: pool)

      assert sample(~s(snakepit_requests_total{pool="#{pool}",command="ping",result="ok"})) == 3

      assert sample(~s(snakepit_requests_total{pool="#{pool}",command="parse",result="error"})) ==
               1

      s = samples()
      duration = ~s(snakepit_request_duration_seconds)
      labels = ~s(pool="#{pool}",command="ping")
      assert s[~s(#{duration}_count{#{labels}})] == 3
      assert s[~s(#{duration}_bucket{#{labels},le="+Inf"})] == 3
      assert s[~s(#{duration}_bucket{#{labels},le="10"})] == 3
      assert s[~s(#{duration}_sum{#{labels}})] > 0
      assert s[~s(#{duration}_sum{#{labels}})] < 30

      wait = ~s(snakepit_request_queue_wait_seconds)
      assert s[~s(#{wait}_count{pool="#{pool}"})] == 4
      assert s[~s(#{wait}_bucket{pool="#{pool}",le="+Inf"})] == 4
    end

    test "a request that raised in the caller counts as result exception" do
      pool = start_pool!(pool_size: 1, worker_profile: Snakepit.Test.FlakyProfile)
      assert_raise RuntimeError, fn -> Snakepit.execute(:__raise_in_caller__, [], pool: pool) end

      assert sample(
               ~s(snakepit_requests_total{pool="#{pool}",command="__raise_in_caller__",result="exception"})
             ) == 1
    end

    test "queue waits, queue timeouts and saturation; the queue wait histogram sees the wait" do
      pool =
        start_pool!(
          commands: Snakepit.Test.Commands,
          pool_size: 1,
          max_queue_size: 1,
          queue_timeout: 100
        )

      busy = Task.async(fn -> Snakepit.execute(:sleep, [300], pool: pool) end)
      eventually(fn -> status!(pool).load == 1 end)
      queued = Task.async(fn -> Snakepit.execute(:ping, [1], pool: pool) end)
      eventually(fn -> status!(pool).queue_length == 1 end)
      assert sample(~s(snakepit_pool_queue_length{pool="#{pool}"})) == 1
      assert sample(~s(snakepit_pool_load{pool="#{pool}"})) == 1
      assert {:error, :pool_saturated} = Snakepit.execute(:ping, [2], pool: pool)
      assert {:error, :queue_timeout} = Task.await(queued)
      Task.await(busy)

      s = samples()
      assert s[~s(snakepit_queue_waits_total{pool="#{pool}"})] == 1
      assert s[~s(snakepit_queue_timeouts_total{pool="#{pool}"})] == 1
      assert s[~s(snakepit_pool_saturated_total{pool="#{pool}"})] == 1
      # The timed-out caller waited ~100 ms: past the 0.05 s bound, within 10 s.
      wait = ~s(snakepit_request_queue_wait_seconds_bucket{pool="#{pool}")
      assert s[wait <> ~s(,le="10"})] - s[wait <> ~s(,le="0.05"})] == 1
    end

    test "workers started and recycled, by reason" do
      pool = start_pool!(pool_size: 2)
      [id | _] = pool |> worker_pids() |> Map.keys()
      assert :ok = Snakepit.recycle_worker(pool, id)

      eventually(fn ->
        sample(~s(snakepit_worker_recycles_total{pool="#{pool}",reason="manual"})) == 1
      end)

      assert sample(~s(snakepit_workers_started_total{pool="#{pool}"})) == 3
    end

    test "records read and bad records by kind: parse, streams, map, extract, :thread pools" do
      bad = Corpus.read!("bad/pymarc_bad_records.mrc")
      delta_since = fn before -> &(Map.get(samples(), &1, 0) - Map.get(before, &1, 0)) end
      delta = delta_since.(samples())

      {:ok, _} = Snakepit.Marc.parse(bad, mode: :permissive)
      assert delta.("snakepit_records_read_total") == 2
      assert delta.(~s(snakepit_bad_records_total{kind="base_address_out_of_range"})) == 2
      assert delta.(~s(snakepit_bad_records_total{kind="truncated_record"})) == 1

      # Strict: the first bad record only.
      {:error, _} = Snakepit.Marc.parse(bad)
      assert delta.(~s(snakepit_bad_records_total{kind="base_address_out_of_range"})) == 3

      # Skip: dropped unseen, counted as skipped.
      {:ok, _, %{skipped: 7}} = Snakepit.Marc.parse(bad, mode: :skip, report: true)
      assert delta.(~s(snakepit_bad_records_total{kind="skipped"})) == 7

      # A file stream (native reader threads).
      assert 386 ==
               Corpus.path("real/loc_bibliographic.mrc") |> Snakepit.Marc.stream() |> Enum.count()

      assert delta.("snakepit_records_read_total") == 2 + 2 + 386

      # map/3: parsed in its worker processes, each record once.
      assert 386 ==
               Corpus.path("real/loc_bibliographic.mrc")
               |> Snakepit.Marc.map(fn _ -> :ok end, workers: 2, batch_size: 50)
               |> Enum.count()

      assert delta.("snakepit_records_read_total") == 2 + 2 + 386 + 386

      # extract/3, in one process and through a :thread pool's native :extract.
      loc = Corpus.path("real/loc_bibliographic.mrc")
      assert 386 == loc |> Snakepit.Marc.extract(t: "245a") |> Enum.count()
      assert delta.("snakepit_records_read_total") == 2 + 2 + 386 + 386 + 386
      extract_pool = start_pool!(worker_profile: :thread, threads_per_worker: 2)
      assert 386 == loc |> Snakepit.Marc.extract([t: "245a"], pool: extract_pool) |> Enum.count()
      assert delta.("snakepit_records_read_total") == 2 + 2 + 386 + 386 + 386 + 386
      delta = delta_since.(samples())

      # The :thread profile's native :parse.
      pool = start_pool!(worker_profile: :thread, threads_per_worker: 1)
      {:ok, items} = Snakepit.execute(:parse, [bad, [mode: :permissive]], pool: pool)
      assert length(items) == 9
      assert delta.("snakepit_records_read_total") == 2
      assert delta.(~s(snakepit_bad_records_total{kind="no_fields"})) == 1
    end

    test "the handler works as :telemetry calls it: with its config, in the caller" do
      [{_, _id, fun, config}] =
        :ets.lookup(Snakepit.Telemetry.Dispatcher, [:snakepit, :records, :read])
        |> Enum.filter(fn {_, id, _, _} -> id == {Store, :handler} end)

      before = sample("snakepit_records_read_total")
      fun.([:snakepit, :records, :read], %{count: 5}, %{}, config)
      assert sample("snakepit_records_read_total") == before + 5
      # An event it does not know, a missing or negative measurement: nothing, no crash.
      fun.([:snakepit, :other], %{count: 5}, %{}, config)
      fun.([:snakepit, :records, :read], %{}, %{}, config)
      fun.([:snakepit, :records, :read], %{count: -1}, %{}, config)
      assert sample("snakepit_records_read_total") == before + 5
    end
  end

  describe "gauges" do
    test "capacity, load, queue, workers and memory of every running pool" do
      start_metrics!()
      pool = start_pool!(worker_profile: :thread, pool_size: 2, threads_per_worker: 3)
      s = samples()
      assert s[~s(snakepit_pool_workers{pool="#{pool}"})] == 2
      assert s[~s(snakepit_pool_capacity{pool="#{pool}"})] == 6
      assert s[~s(snakepit_pool_load{pool="#{pool}"})] == 0
      assert s[~s(snakepit_pool_queue_length{pool="#{pool}"})] == 0
      assert s[~s(snakepit_pool_max_queue_size{pool="#{pool}"})] == 1000
      assert is_integer(s[~s(snakepit_pool_native_bytes{pool="#{pool}"})])
      assert s[~s(snakepit_pool_memory_bytes{pool="#{pool}"})] > 0
    end
  end

  describe "the endpoint" do
    setup do
      %{port: start_metrics!(refresh_ms: 250)}
    end

    test "binds to loopback by default" do
      assert {:ok, {{127, 0, 0, 1}, port}} = Metrics.endpoint()
      assert port > 0
    end

    test "GET /metrics is the text format, with its content type", %{port: port} do
      pool = start_pool!(pool_size: 1)
      {:ok, _} = Snakepit.execute(:ping, [1], pool: pool)
      {200, headers, body} = get(port, "/metrics")
      assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
      assert body =~ "# TYPE snakepit_requests_total counter\n"

      assert MetricsText.parse(body)[
               ~s(snakepit_requests_total{pool="#{pool}",command="ping",result="ok"})
             ] == 1
    end

    test "GET /status.json: pools, workers, capacity and queue", %{port: port} do
      pool = start_pool!(pool_size: 2)
      {200, headers, body} = get(port, "/status.json")
      assert headers["content-type"] == "application/json"
      status = Snakepit.NativeBuild.decode_json!(body)
      entry = Enum.find(status["pools"], &(&1["pool"] == Atom.to_string(pool)))
      # (That decoder reads every number as a float.)
      assert {entry["capacity"], entry["load"], entry["queue_length"]} == {2, 0, 0}
      assert entry["worker_count"] == 2
      assert [%{"id" => _, "status" => "idle", "capacity" => 1.0} | _] = entry["workers"]
    end

    test "GET / is the status page, refreshing from /status.json", %{port: port} do
      {200, headers, body} = get(port, "/")
      assert headers["content-type"] == "text/html; charset=utf-8"
      assert body =~ "<title>Snakepit status</title>"
      assert body =~ ~s(fetch("/status.json")
      assert body =~ ~s(data-refresh-ms="250")
      # Values from the JSON go in as text, never as markup.
      refute body =~ "innerHTML"
    end

    test "HEAD answers without a body; other paths 404, other methods 405", %{port: port} do
      assert {200, _, ""} = get(port, "/metrics", :head)
      assert {404, _, "not found" <> _} = get(port, "/etc/passwd")
      assert {404, _, _} = get(port, "/../../etc/passwd")
      assert {405, _, _} = get(port, "/metrics", :delete)
    end

    test "a port in use stops the start, naming the address" do
      {:ok, socket} = :gen_tcp.listen(0, ip: {127, 0, 0, 1})
      {:ok, taken} = :inet.port(socket)
      stop_supervised!(Metrics)
      Process.flag(:trap_exit, true)

      assert {:error, {:shutdown, {:failed_to_start_child, Snakepit.Metrics.HTTP, reason}}} =
               Metrics.start_link(port: taken)

      assert {:metrics_endpoint, {127, 0, 0, 1}, ^taken, _eaddrinuse} = reason
      :gen_tcp.close(socket)
    end

    test "a restarted endpoint binds again (no service left behind)", %{port: _port} do
      stop_supervised!(Metrics)
      assert Metrics.endpoint() == :error
      refute Metrics.running?()
      start_metrics!()
      assert Metrics.running?()
    end
  end

  test "without :port there is no endpoint, and the metrics still render" do
    start_supervised!(Metrics)
    assert Metrics.endpoint() == :error
    assert Metrics.render() =~ "# TYPE snakepit_pool_capacity gauge"
  end

  describe "options" do
    test "are validated, naming what is wrong" do
      for {opts, message} <- [
            {[bogus: 1], "unknown option [:bogus]"},
            {[port: 70_000], ":port must be an integer in 0..65535"},
            {[ip: {127, 0, 0}], ":ip must be an IPv4 or IPv6 address tuple"},
            {[ip: "127.0.0.1"], ":ip must be"},
            {[duration_buckets: [1, 0.5]], ":duration_buckets must be a non-empty increasing"},
            {[queue_wait_buckets: []], ":queue_wait_buckets must be"},
            {[refresh_ms: 10], ":refresh_ms must be an integer in 100..60000"}
          ] do
        error = assert_raise ArgumentError, fn -> Metrics.start_link(opts) end
        assert error.message =~ message
        assert error.message =~ "got:"
      end

      assert {:ok, %{port: nil, ip: {127, 0, 0, 1}}} = Options.validate([])

      assert {:ok, %{ip: {0, 0, 0, 0, 0, 0, 0, 1}}} =
               Options.validate(ip: {0, 0, 0, 0, 0, 0, 0, 1})
    end

    test "config :snakepit, :metrics: absent means off; a bad one names the key" do
      assert Metrics.configured_children([]) == []
      assert [{Metrics, opts}] = Metrics.configured_children(metrics: [port: 9568])
      assert opts[:port] == 9568 and opts[:ip] == {127, 0, 0, 1}

      assert_raise ArgumentError, ~r/config :snakepit, :metrics: :port must be/, fn ->
        Metrics.configured_children(metrics: [port: -1])
      end
    end
  end

  describe "docs/metrics.md" do
    test "lists every metric with its type and labels, and the options table" do
      doc = File.read!(@doc_path)

      for metric <- Definitions.event_metrics() do
        type = if metric.type == :counter, do: "counter", else: "histogram"
        labels = metric |> Definitions.label_names() |> Enum.map_join(", ", &"`#{&1}`")
        labels = if labels == "", do: "none", else: labels
        row = "| `#{metric.name}` | #{type} | #{labels} |"
        assert doc =~ row, "docs/metrics.md lacks: #{row}"
        assert doc =~ inspect(metric.event)
      end

      for gauge <- Definitions.gauges(),
          do: assert(doc =~ "| `#{gauge.name}` | gauge | `pool` |", gauge.name)

      assert doc =~ Options.markdown()
    end

    test "its elixir blocks run" do
      blocks = Regex.scan(~r/^```elixir\n(.*?)^```$/ms, File.read!(@doc_path))
      assert blocks != []
      for [_, code] <- blocks, do: Code.eval_string(code, [], file: @doc_path)
    end

    test "the metric and label names are valid Prometheus names" do
      for metric <- Definitions.event_metrics() ++ Definitions.gauges() do
        assert Snakepit.Metrics.Prometheus.metric_name?(metric.name)
      end

      for metric <- Definitions.event_metrics(), label <- Definitions.label_names(metric) do
        assert Snakepit.Metrics.Prometheus.label_name?(Atom.to_string(label))
      end

      # Counters end in _total; histograms of time in _seconds.
      for %{type: type, name: name} <- Definitions.event_metrics() do
        if type == :counter, do: assert(name =~ ~r/_total$/), else: assert(name =~ ~r/_seconds$/)
      end
    end
  end

  test "the handler's httpd request record matches inets' httpd.hrl" do
    require Record
    require Snakepit.Metrics.HTTP.Handler, as: Handler
    fields = Record.extract(:mod, from_lib: "inets/include/httpd.hrl") |> Keyword.keys()
    assert fields == Keyword.keys(Handler.mod(Handler.mod()))
  end
end
