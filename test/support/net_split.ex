defmodule Snakepit.Test.NetSplit do
  @moduledoc false
  # A peer node behind a real network link that a test can cut: a Linux network namespace
  # joined to this one by a veth pair on a private /30, the peer started inside it through
  # `ip netns exec` (OTP's :peer with `exec:`). The peer is controlled over its standard
  # I/O (`:peer.call/4`), so control survives the cut; the distribution connection runs
  # over the veth link, so the cut is the real thing: packets vanish, no RST, no :nodedown
  # until net_ticktime.
  #
  # The cut takes the namespace's end of the pair down: this side's end loses its carrier
  # and keeps its route, so what this node sends is dropped by the veth driver; the peer's
  # side loses its route. Neither side's TCP hears anything. `heal/1` brings it back up.
  #
  # Needs root and iproute2. `unavailable/0` says why not, for a skip message.

  alias Snakepit.Test.Peers

  defstruct [:ns, :host_if, :peer_if, :host_ip, :peer_ip, :peer, :node]

  @doc "Nil when namespaces can be made here, else why not (a sentence)."
  def unavailable do
    cond do
      System.find_executable("ip") == nil ->
        "needs iproute2's `ip` (apt-get install iproute2)"

      not root?() ->
        "needs root (network namespaces and veth pairs)"

      true ->
        probe = "snpprobe#{System.unique_integer([:positive])}"

        case System.cmd("ip", ["netns", "add", probe], stderr_to_stdout: true) do
          {_, 0} ->
            System.cmd("ip", ["netns", "del", probe], stderr_to_stdout: true)
            nil

          {out, _} ->
            "`ip netns add` fails here: #{String.trim(out)}"
        end
    end
  end

  defp root? do
    case System.cmd("id", ["-u"]) do
      {"0\n", 0} -> true
      _ -> false
    end
  end

  @doc """
  Creates the namespace and the link, starts a peer running :snakepit in it and connects
  this node to it over the link. Returns the split; `cleanup/1` undoes it all (use it in
  `on_exit`, it is safe on a half-made split).
  """
  def start! do
    Peers.ensure_distributed!()
    # The namespace's number picks the /30 (10.213.<n / 64>.<(n % 64) * 4>), unique per run.
    n = rem(System.unique_integer([:positive]), 16_384)
    {a, b} = {div(n, 64), rem(n, 64) * 4}

    split = %__MODULE__{
      ns: "snp#{n}",
      host_if: "snp#{n}h",
      peer_if: "snp#{n}p",
      host_ip: "10.213.#{a}.#{b + 1}",
      peer_ip: "10.213.#{a}.#{b + 2}"
    }

    try do
      make_link!(split)
      start_peer!(split)
    rescue
      error ->
        cleanup(split)
        reraise error, __STACKTRACE__
    end
  end

  defp make_link!(s) do
    ip!(["netns", "add", s.ns])
    ip!(["link", "add", s.host_if, "type", "veth", "peer", "name", s.peer_if])
    ip!(["link", "set", s.peer_if, "netns", s.ns])
    ip!(["addr", "add", s.host_ip <> "/30", "dev", s.host_if])
    ip!(["link", "set", s.host_if, "up"])
    ip!(["-n", s.ns, "addr", "add", s.peer_ip <> "/30", "dev", s.peer_if])
    ip!(["-n", s.ns, "link", "set", s.peer_if, "up"])
    # epmd in the namespace listens on its loopback too.
    ip!(["-n", s.ns, "link", "set", "lo", "up"])
  end

  defp start_peer!(s) do
    code_path = Enum.flat_map(:code.get_path(), &[~c"-pa", &1])
    cookie = Atom.to_charlist(Node.get_cookie())
    erl = System.find_executable("erl") |> String.to_charlist()
    ip = System.find_executable("ip") |> String.to_charlist()

    {:ok, peer, node} =
      :peer.start(%{
        name: :"snakepit_split_#{System.unique_integer([:positive])}",
        host: String.to_charlist(s.peer_ip),
        longnames: true,
        # Control over stdio, so it survives the cut; `erl` inside the namespace (it starts
        # its own epmd there).
        connection: :standard_io,
        exec: {ip, [~c"netns", ~c"exec", String.to_charlist(s.ns), erl]},
        args:
          [
            ~c"-setcookie",
            cookie,
            # It must not reach for this node's other connections through :global (they are
            # named after 127.0.0.1, which is the namespace's own loopback there).
            ~c"-connect_all",
            ~c"false",
            ~c"-kernel",
            ~c"prevent_overlapping_partitions",
            ~c"false"
          ] ++ code_path,
        wait_boot: 60_000
      })

    s = %{s | peer: peer, node: node}
    # This node connects: the peer could not connect back to a 127.0.0.1 name.
    true = wait_connect(node, 30_000)
    {:ok, _} = :peer.call(peer, Application, :ensure_all_started, [:snakepit], 60_000)
    s
  end

  defp wait_connect(node, timeout) do
    deadline = System.monotonic_time(:millisecond) + timeout

    Stream.repeatedly(fn -> Node.connect(node) end)
    |> Enum.find(fn connected ->
      connected == true or System.monotonic_time(:millisecond) > deadline or
        (Process.sleep(100) && false)
    end)
  end

  @doc "Starts a pool on the split's peer, under its :snakepit application."
  def start_pool!(s, opts) do
    {:ok, _} =
      :peer.call(
        s.peer,
        Supervisor,
        :start_child,
        [Snakepit.Supervisor, {Snakepit.Pool, opts}],
        60_000
      )

    :ok
  end

  @doc "Cuts the link: from now on packets between the two nodes vanish silently."
  def cut!(s), do: ip!(["-n", s.ns, "link", "set", s.peer_if, "down"])

  @doc "Restores the link."
  def heal!(s), do: ip!(["-n", s.ns, "link", "set", s.peer_if, "up"])

  @doc "Stops the peer and removes the namespace (its processes, epmd included) and the link."
  def cleanup(s) do
    if s.peer, do: Peers.stop(s.peer)

    if s.ns do
      # epmd (and anything else still running in the namespace).
      case System.cmd("ip", ["netns", "pids", s.ns], stderr_to_stdout: true) do
        {pids, 0} -> for pid <- String.split(pids), do: System.cmd("kill", ["-9", pid])
        _ -> :ok
      end

      System.cmd("ip", ["netns", "del", s.ns], stderr_to_stdout: true)
    end

    # Deleting the namespace deletes its end of the pair, and with it this one; in case the
    # namespace never got it:
    if s.host_if, do: System.cmd("ip", ["link", "del", s.host_if], stderr_to_stdout: true)
    :ok
  end

  defp ip!(args) do
    case System.cmd("ip", args, stderr_to_stdout: true) do
      {_, 0} -> :ok
      {out, rc} -> raise "ip #{Enum.join(args, " ")} failed (#{rc}): #{out}"
    end
  end
end
