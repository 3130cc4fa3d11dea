defmodule Mix.Tasks.Snakepit.ProfileInspector do
  @shortdoc "Shows the Snakepit pools of this or another node: capacity, memory, advice"

  @moduledoc """
  Shows what the Snakepit pools are doing: profile, workers, capacity and utilisation,
  queue, memory (process plus native bytes held), the workload seen, and recommendations.

      mix snakepit.profile_inspector
      mix snakepit.profile_inspector --pool bulk --detailed --recommendations
      mix snakepit.profile_inspector --format json
      mix snakepit.profile_inspector --node app@host --cookie secret
      mix snakepit.profile_inspector --node app --sname --recommendations
      mix snakepit.profile_inspector --cluster --node app@host

  Without `--node` it starts this project's application (and so the pools of its config)
  and reports on them. With `--node` it connects to that node over distributed Erlang and
  reports on the pools running there (the node must run Snakepit). With `--cluster` it
  reports on every node running Snakepit that this node (or the `--node` one) is connected
  to, one report per node, and names the nodes that did not answer.

  ## Options

    * `--pool NAME` - only this pool
    * `--detailed` - a table of the workers: status, load, memory, uptime, requests
    * `--recommendations` - advice for each pool (`Snakepit.Diagnostics.ProfileInspector.get_recommendations/1`)
    * `--format text|json` - text (default) or one JSON document
    * `--node NAME` - inspect another node
    * `--cluster` - every connected node's pools (`get_cluster_report/1`)
    * `--cookie COOKIE` - its cookie (default: this user's `~/.erlang.cookie`)
    * `--sname` - short node names (`name@host` without dots); the default follows `NAME`:
      long names when its host part has a dot
    * `--color` / `--no-color` - force colours on or off (default: on for a terminal)
    * `--help`, `-h` - this text

  Utilisation is green below 60%, yellow below 85%, red from 85%, on a terminal only.
  Errors (an unknown pool, an unreachable node, a bad flag) print a message and exit with a
  non-zero status.
  """

  use Mix.Task

  alias Snakepit.Diagnostics.{ProfileInspector, Report}
  alias Snakepit.MixCLI, as: CLI

  @switches [
    pool: :string,
    detailed: :boolean,
    recommendations: :boolean,
    format: :string,
    node: :string,
    cookie: :string,
    sname: :boolean,
    color: :boolean,
    cluster: :boolean
  ]

  @usage "usage: mix snakepit.profile_inspector [--pool NAME] [--detailed] [--recommendations] " <>
           "[--format text|json] [--cluster] [--node NAME [--cookie C] [--sname]] [--[no-]color]"

  @impl Mix.Task
  def run(args) do
    cli = CLI.new(__MODULE__, @usage, @switches)

    case parse!(cli, args) do
      :help -> :ok
      opts -> inspect_pools(cli, opts)
    end
  end

  defp inspect_pools(cli, opts) do
    if opts[:cluster], do: inspect_cluster(cli, opts), else: inspect_node(cli, opts)
  end

  # One report per node, each rendered as a single node's is.
  defp inspect_cluster(cli, opts) do
    cluster = gather!(cli, opts, :get_cluster_report)
    cluster = %{cluster | nodes: Enum.map(cluster.nodes, &only_pool_if_any(&1, opts[:pool]))}

    case opts[:format] do
      "json" ->
        Mix.shell().info(Report.json(cluster))

      _text ->
        texts = Enum.map(cluster.nodes, &String.trim_trailing(Report.text(&1, text_opts(opts))))

        down =
          for %{node: node, reason: reason} <- cluster.unreachable,
              do: "#{node}: did not answer (#{inspect(reason)})"

        Mix.shell().info(Enum.join(texts ++ down, "\n\n"))
    end

    cluster
  end

  defp only_pool_if_any(report, nil), do: report

  defp only_pool_if_any(report, name) do
    name = String.trim_leading(name, ":")
    %{report | pools: Enum.filter(report.pools, &(Atom.to_string(&1.pool) == name))}
  end

  # What `fun` of the inspector returns here, or on the --node node.
  defp gather!(cli, opts, fun) do
    case opts[:node] do
      nil ->
        Mix.Task.run("app.start")
        apply(ProfileInspector, fun, [])

      name ->
        Mix.Task.run("app.config")
        node = connect!(cli, name, opts[:cookie], opts[:sname])
        remote_call!(cli, node, fun, [])
    end
  end

  defp text_opts(opts) do
    [
      detailed: opts[:detailed],
      recommendations: opts[:recommendations],
      color: Keyword.get_lazy(opts, :color, &Report.terminal?/0)
    ]
  end

  defp inspect_node(cli, opts) do
    report = gather!(cli, opts, :get_comprehensive_report)
    report = only_pool!(cli, report, opts[:pool])

    case opts[:format] do
      "json" ->
        Mix.shell().info(Report.json(report))

      _text ->
        Mix.shell().info(String.trim_trailing(Report.text(report, text_opts(opts))))
    end

    report
  end

  defp parse!(cli, args) do
    case CLI.parse!(cli, args, 0) do
      :help ->
        :help

      {opts, []} ->
        format = CLI.one_of!(cli, "format", Keyword.get(opts, :format, "text"), ~w(text json))
        if opts[:cookie] && !opts[:node], do: CLI.usage_error!(cli, "--cookie needs --node")
        if opts[:sname] && !opts[:node], do: CLI.usage_error!(cli, "--sname needs --node")
        Keyword.put(opts, :format, Atom.to_string(format))
    end
  end

  defp only_pool!(_cli, report, nil), do: report

  defp only_pool!(cli, report, name) do
    name = String.trim_leading(name, ":")

    case Enum.filter(report.pools, &(Atom.to_string(&1.pool) == name)) do
      [] ->
        running = Enum.map_join(report.pools, ", ", &Atom.to_string(&1.pool))
        running = if running == "", do: "none", else: running

        CLI.error!(
          cli,
          "unknown pool #{inspect(name)} on #{report.node}; running pools: #{running}"
        )

      pools ->
        %{
          report
          | pools: pools,
            totals: %{
              report.totals
              | pools: 1,
                workers: hd(pools).worker_count,
                capacity: hd(pools).capacity.total,
                used: hd(pools).capacity.used,
                memory: hd(pools).memory.total
            }
        }
    end
  end

  # -- distribution ----------------------------------------------------------------------------

  defp connect!(cli, name, cookie, sname?) do
    shortnames = if sname? == nil, do: not long_name?(name), else: sname?
    node = name |> full_name(shortnames) |> String.to_atom()

    unless Node.alive?() do
      # epmd must run for distribution; starting it when it already runs is harmless.
      if epmd = System.find_executable("epmd"), do: System.cmd(epmd, ["-daemon"])
      me = :"snakepit_inspector_#{System.unique_integer([:positive])}"

      case :net_kernel.start([me, if(shortnames, do: :shortnames, else: :longnames)]) do
        {:ok, _} ->
          :ok

        {:error, reason} ->
          CLI.error!(
            cli,
            "could not start distributed Erlang to reach #{node} (#{inspect(reason)}); " <>
              "is epmd running (epmd -daemon)? For names without a dotted host use --sname."
          )
      end
    end

    if cookie, do: Node.set_cookie(node, String.to_atom(cookie))

    case Node.connect(node) do
      true ->
        node

      _ ->
        CLI.error!(
          cli,
          "cannot connect to node #{node}: it is not running, not reachable, or its cookie " <>
            "differs (give it with --cookie)" <>
            if(shortnames, do: "", else: "; for short names use --sname")
        )
    end
  end

  defp long_name?(name) do
    case String.split(name, "@", parts: 2) do
      [_, host] -> String.contains?(host, ".")
      [_] -> false
    end
  end

  # A bare name gets this host's name, as `erl -sname` does.
  defp full_name(name, shortnames) do
    if String.contains?(name, "@") do
      name
    else
      {:ok, host} = :inet.gethostname()
      host = to_string(host)
      host = if shortnames, do: host |> String.split(".") |> hd(), else: host
      name <> "@" <> host
    end
  end

  defp remote_call!(cli, node, fun, args) do
    :erpc.call(node, ProfileInspector, fun, args, 15_000)
  rescue
    e in ErlangError ->
      case e.original do
        {:exception, :undef, _} ->
          CLI.error!(
            cli,
            "node #{node} does not run Snakepit (no #{inspect(ProfileInspector)} there)"
          )

        other ->
          CLI.error!(cli, "could not read the pools of #{node}: #{inspect(other)}")
      end
  end
end
