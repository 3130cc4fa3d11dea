defmodule Snakepit.Metrics.HTTP do
  # The metrics endpoint: an OTP :httpd service (inets), owned by this process: started in
  # init, stopped in terminate, and one this process left behind (killed, so terminate never
  # ran) is stopped before a new one binds. (A stand-alone service would die with us, but
  # cannot tell which port `port: 0` bound.) Its only module is
  # Snakepit.Metrics.HTTP.Handler: no file is ever served from disk.
  @moduledoc false
  use GenServer

  @address_key {__MODULE__, :address}
  @service_key {__MODULE__, :service}

  def start_link(options), do: GenServer.start_link(__MODULE__, options, name: __MODULE__)

  @doc "`{:ok, {ip, port}}` of the running endpoint, or `:error`."
  def address do
    case :persistent_term.get(@address_key, nil) do
      nil -> :error
      address -> {:ok, address}
    end
  end

  @doc "The status page's refresh interval (ms)."
  def refresh_ms, do: :persistent_term.get({__MODULE__, :refresh_ms}, 1000)

  @impl true
  def init(options) do
    Process.flag(:trap_exit, true)

    case Application.ensure_all_started(:inets) do
      {:ok, _} ->
        :ok

      {:error, reason} ->
        raise ArgumentError,
              "the metrics endpoint (config :snakepit, metrics: [port: ...]) needs OTP's " <>
                ":inets application (Debian: the erlang-inets package), got: #{inspect(reason)}"
    end

    dir = String.to_charlist(System.tmp_dir!())

    config = [
      port: options.port,
      bind_address: options.ip,
      ipfamily: if(tuple_size(options.ip) == 8, do: :inet6, else: :inet),
      server_name: ~c"snakepit_metrics",
      server_root: dir,
      document_root: dir,
      modules: [Snakepit.Metrics.HTTP.Handler],
      # Small requests only: a scrape or a page load.
      max_uri_size: 2048,
      max_header_size: 8192,
      max_body_size: 1024,
      max_clients: 32,
      keep_alive_timeout: 15
    ]

    stop_leftover()

    case :inets.start(:httpd, config) do
      {:ok, pid} ->
        :persistent_term.put(@service_key, pid)
        Process.monitor(pid)
        [port: port] = :httpd.info(pid, [:port])
        :persistent_term.put({__MODULE__, :refresh_ms}, options.refresh_ms)
        :persistent_term.put(@address_key, {options.ip, port})
        {:ok, %{httpd: pid}}

      {:error, reason} ->
        {:stop, {:metrics_endpoint, options.ip, options.port, reason}}
    end
  end

  defp stop_leftover do
    case :persistent_term.get(@service_key, nil) do
      nil -> :ok
      pid -> if Process.alive?(pid), do: :inets.stop(:httpd, pid), else: :ok
    end
  end

  @impl true
  def handle_info({:DOWN, _ref, :process, pid, reason}, %{httpd: pid} = state),
    do: {:stop, {:metrics_endpoint_down, reason}, state}

  def handle_info(_other, state), do: {:noreply, state}

  @impl true
  def terminate(_reason, %{httpd: pid}) do
    :persistent_term.erase(@address_key)
    :inets.stop(:httpd, pid)
    :persistent_term.erase(@service_key)
    :ok
  end
end

defmodule Snakepit.Metrics.HTTP.Handler do
  # The :httpd module (the `do/1` callback of httpd's module API) answering every request:
  # GET (or HEAD) of /metrics, /status.json and /; 404 for other paths, 405 for other methods.
  @moduledoc false

  require Record

  # httpd's request record (inets/include/httpd.hrl), spelled out so compiling does not
  # need inets' headers; a test checks it against the header where one is installed.
  Record.defrecord(:mod, [
    :init_data,
    :data,
    :socket_type,
    :socket,
    :config_db,
    :method,
    :absolute_uri,
    :request_uri,
    :http_version,
    :request_line,
    :parsed_header,
    :entity_body,
    :connection
  ])

  alias Snakepit.Metrics.{Prometheus, StatusPage}

  @doc false
  def unquote(:do)(request) do
    method = mod(request, :method)
    path = request |> mod(:request_uri) |> to_string() |> URI.parse() |> Map.get(:path)
    {code, type, body} = if method in [~c"GET", ~c"HEAD"], do: route(path), else: not_allowed()
    length = IO.iodata_length(body)
    body = if method == ~c"HEAD", do: "", else: body

    head = [
      code: code,
      content_type: String.to_charlist(type),
      content_length: Integer.to_charlist(length),
      cache_control: ~c"no-store"
    ]

    {:proceed, [response: {:response, head, body}]}
  end

  @doc false
  def route("/metrics"), do: {200, Prometheus.content_type(), Snakepit.Metrics.render()}

  def route("/status.json"),
    do: {200, "application/json", Snakepit.JSON.encode!(Snakepit.Metrics.status())}

  def route("/"),
    do: {200, "text/html; charset=utf-8", StatusPage.html(Snakepit.Metrics.HTTP.refresh_ms())}

  def route(_path),
    do: {404, "text/plain; charset=utf-8", "not found: try /metrics, /status.json or /\n"}

  defp not_allowed, do: {405, "text/plain; charset=utf-8", "only GET and HEAD\n"}
end
