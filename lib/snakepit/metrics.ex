defmodule Snakepit.Metrics do
  @moduledoc """
  Counters, gauges and histograms of Snakepit's pools and readers, in the Prometheus text
  format, and an optional HTTP endpoint that serves them with a live status page.

  Off unless asked for. Either configure it, and the `:snakepit` application starts it
  before its pools:

      config :snakepit, metrics: []                               # collect; no endpoint
      config :snakepit, metrics: [port: 9568]                     # and serve on 127.0.0.1:9568
      config :snakepit, metrics: [port: 9568, ip: {0, 0, 0, 0}]   # on every interface

  or start it in your own supervision tree: `{Snakepit.Metrics, port: 9568}`.

  The metrics are fed by Snakepit's own telemetry events (`docs/telemetry.md`), with or
  without the `:telemetry` library loaded: a handler adds to lock-free `:counters` in the
  process that emits the event, so nothing queues behind a process of ours. Gauges
  (capacity, load, queue length, native bytes held) are read from the pools when the
  metrics are rendered. `docs/metrics.md` lists every metric, its labels and its source.

  The endpoint uses OTP's own `:httpd` (the `:inets` application, no dependency) and binds
  to loopback (`127.0.0.1`) unless `:ip` says otherwise. It serves `GET /metrics` (this
  text), `GET /status.json` and `GET /`, a status page that refreshes itself.

  ## Options

  #{Snakepit.Metrics.Options.docs()}
  """
  use Supervisor

  alias Snakepit.Metrics.{Collect, HTTP, Options, Prometheus, Status, Store}

  @doc """
  Starts the metrics (and the endpoint, with `:port`) under the caller. Raises
  `ArgumentError` on an invalid option. Only one may run per node.
  """
  @spec start_link(keyword) :: Supervisor.on_start()
  def start_link(opts) do
    options = validate!(opts)
    Supervisor.start_link(__MODULE__, options, name: __MODULE__)
  end

  @doc false
  def child_spec(opts),
    do: %{id: __MODULE__, start: {__MODULE__, :start_link, [opts]}, type: :supervisor}

  @doc false
  # The children the :snakepit application starts for `config :snakepit, metrics: [...]`:
  # none when the key is absent. Validated here, so a bad config stops the application
  # with an ArgumentError naming it.
  def configured_children(env \\ Application.get_all_env(:snakepit)) do
    case Keyword.fetch(env, :metrics) do
      :error -> []
      {:ok, nil} -> []
      {:ok, opts} -> [{__MODULE__, Map.to_list(validate!(opts, "config :snakepit, :metrics: "))}]
    end
  end

  defp validate!(opts, prefix \\ "") do
    case Options.validate(opts) do
      {:ok, options} -> options
      {:error, message} -> raise ArgumentError, prefix <> message
    end
  end

  @doc "The metrics now, in the Prometheus text exposition format 0.0.4."
  @spec render() :: binary
  def render, do: Collect.families() |> Prometheus.render() |> IO.iodata_to_binary()

  @doc """
  What the status page shows, as a map (the body of `/status.json`): `:node`,
  `:generated_at`, and `:pools`, per pool its profile, workers (id, status, capacity,
  load), capacity, load, queue length and the requests it has served.
  """
  @spec status() :: map
  def status, do: Status.build()

  @doc "Whether the metrics run on this node."
  @spec running?() :: boolean
  def running?, do: Store.running?()

  @doc "The endpoint's address, `{:ok, {ip, port}}` (the port bound, for `port: 0`), or `:error`."
  @spec endpoint() :: {:ok, {tuple, :inet.port_number()}} | :error
  def endpoint, do: HTTP.address()

  @impl true
  def init(options) do
    children = [{Store, options}] ++ if(options.port, do: [{HTTP, options}], else: [])
    Supervisor.init(children, strategy: :one_for_one)
  end
end
