defmodule Snakepit.Test.Peers do
  @moduledoc false
  # Nodes for cluster tests, started through OTP's :peer on this machine: each runs this
  # project's code (the test node's code path, so _build/test) with the :snakepit
  # application started. The test node is made distributed first when it is not.

  @doc "Makes this node distributed (starting epmd if needed). Returns `:ok`."
  def ensure_distributed! do
    # Test nodes come and go on purpose: :global must not disconnect the survivors to
    # "prevent overlapping partitions" when one is killed.
    Application.put_env(:kernel, :prevent_overlapping_partitions, false)

    unless Node.alive?() do
      System.cmd("epmd", ["-daemon"])
      name = :"snakepit_test_#{System.unique_integer([:positive])}@127.0.0.1"
      {:ok, _} = :net_kernel.start([name, :longnames])
    end

    :ok
  end

  @doc """
  Starts a peer node running :snakepit, its application env set to `env` first; returns
  `{peer, node}`. Not linked: a test may kill it.
  """
  def start!(env \\ []) do
    ensure_distributed!()
    code_path = Enum.flat_map(:code.get_path(), &[~c"-pa", &1])
    cookie = Atom.to_charlist(Node.get_cookie())

    # Named the way this node is (another test may have made it distributed with short
    # names), so the two can connect.
    [_name, host] = node() |> Atom.to_string() |> String.split("@")

    {:ok, peer, node} =
      :peer.start(%{
        name: :"snakepit_peer_#{System.unique_integer([:positive])}",
        host: String.to_charlist(host),
        longnames: :net_kernel.longnames() == true,
        args:
          [~c"-setcookie", cookie, ~c"-kernel", ~c"prevent_overlapping_partitions", ~c"false"] ++
            code_path,
        wait_boot: 60_000
      })

    :ok = :erpc.call(node, Application, :load, [:snakepit], 60_000)

    for {key, value} <- env,
        do: :ok = :erpc.call(node, Application, :put_env, [:snakepit, key, value])

    {:ok, _} = :erpc.call(node, Application, :ensure_all_started, [:snakepit], 60_000)
    {peer, node}
  end

  @doc "Starts a pool on `node`, under its :snakepit application."
  def start_pool!(node, opts) do
    {:ok, _} =
      :erpc.call(node, Supervisor, :start_child, [Snakepit.Supervisor, {Snakepit.Pool, opts}])

    :ok
  end

  @doc "Halts `node` at once, as a crash would (no shutdown, connections drop)."
  def kill!(node), do: :erpc.cast(node, :erlang, :halt, [137])

  @doc "Stops a peer, whether or not it is still up."
  def stop(peer) do
    :peer.stop(peer)
  catch
    :exit, _ -> :ok
  end
end
