defmodule Snakepit.LayersTest do
  # The layers of docs/architecture.md, checked on the compiled modules: every reference a
  # module makes to another of the library (a remote call, or its name as an atom, as in
  # `apply(mod, ...)` or a struct) points to its own layer or one below, and the pool layer's
  # modules depend on each other without a cycle.
  use ExUnit.Case, async: true

  # From the top: what each layer may use is itself and what is below it.
  @ranks %{app: 4, marc: 3, pool: 2, base: 1, native: 0}

  defp layer(module) do
    name = inspect(module)

    cond do
      module in [Snakepit, Snakepit.Application, Snakepit.Environment, Snakepit.MixCLI] -> :app
      under?(name, ["Snakepit.Diagnostics", "Snakepit.Metrics", "Mix.Tasks"]) -> :app
      under?(name, ["Snakepit.Marc"]) -> :marc
      under?(name, ["Snakepit.Pool", "Snakepit.Lifecycle", "Snakepit.WorkerProfile"]) -> :pool
      under?(name, ["Snakepit.Config"]) -> :pool
      under?(name, ["Snakepit.Native"]) -> :native
      # Shared by every layer: Snakepit.Error, Snakepit.Telemetry, Snakepit.JSON, ...
      true -> :base
    end
  end

  defp under?(name, prefixes),
    do: Enum.any?(prefixes, &(name == &1 or String.starts_with?(name, &1 <> ".")))

  # The library's own modules (test/support's are compiled into the app in tests: left out).
  defp library_modules do
    {:ok, modules} = :application.get_key(:snakepit, :modules)
    Enum.reject(modules, &(&1 == Snakepit.PoolCase or under?(inspect(&1), ["Snakepit.Test"])))
  end

  # module => the library modules it calls or names.
  defp references(modules) do
    known = MapSet.new(modules)

    Map.new(modules, fn module ->
      {:ok, {^module, chunks}} = :beam_lib.chunks(:code.which(module), [:imports, :atoms])
      called = for {m, _f, _a} <- chunks[:imports], do: m
      named = for {_i, atom} <- chunks[:atoms], do: atom
      {module, (called ++ named) |> Enum.filter(&(&1 in known and &1 != module)) |> Enum.uniq()}
    end)
  end

  test "every module uses only its own layer and those below it" do
    upward =
      for {from, tos} <- references(library_modules()),
          to <- tos,
          @ranks[layer(to)] > @ranks[layer(from)],
          do: "#{inspect(from)} (#{layer(from)}) -> #{inspect(to)} (#{layer(to)})"

    assert upward == [], "references against the layers:\n" <> Enum.join(upward, "\n")
  end

  test "the pool layer knows nothing of MARC" do
    refs = references(library_modules())

    marc =
      for {from, tos} <- refs,
          layer(from) == :pool,
          to <- tos,
          layer(to) == :marc,
          do: {from, to}

    assert marc == []
    # Not vacuous: the MARC layer does use the pool layer.
    assert Snakepit.Pool in refs[Snakepit.Marc.Stream]
    assert Snakepit.Pool.Commands in refs[Snakepit.Marc.Commands]
  end

  test "the pool layer's modules depend on each other without a cycle" do
    refs = references(library_modules())
    graph = :digraph.new()

    try do
      for {from, tos} <- refs, layer(from) == :pool, to <- tos, layer(to) == :pool do
        :digraph.add_vertex(graph, from)
        :digraph.add_vertex(graph, to)
        :digraph.add_edge(graph, from, to)
      end

      assert :digraph.no_vertices(graph) > 10
      assert :digraph_utils.cyclic_strong_components(graph) == []
    after
      :digraph.delete(graph)
    end
  end

  test "the checks see calls and names alike" do
    refs = references(library_modules())
    # A remote call.
    assert Snakepit.Pool.Manager in refs[Snakepit.Lifecycle]
    # Only a name: the profile modules that WorkerProfile.module/1 resolves to.
    assert Snakepit.WorkerProfile.Process in refs[Snakepit.WorkerProfile]
  end
end
