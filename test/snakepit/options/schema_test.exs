defmodule Snakepit.Options.SchemaTest do
  use ExUnit.Case, async: true

  alias Snakepit.Options.Schema

  @schema [
    mode: [type: {:in, [:a, :b]}, default: :a, doc: "The mode."],
    size: [type: {:int_range, 1, 10}, default: 5, doc: "The size."],
    name: [type: :atom, required: true, doc: "The name."],
    twice: [
      type: :pos_integer,
      default: {:computed, "twice the size", &__MODULE__.twice/1},
      doc: "Computed from `:size`."
    ],
    limit: [type: {:or, [:pos_integer, {:in, [:infinity]}]}, default: :infinity, doc: "A limit."],
    ttl: [type: {:custom, &__MODULE__.seconds/1, "seconds as {n, :s}"}, doc: "Optional."],
    label: [type: :any, default: nil, allowed: "anything at all", doc: "Free."]
  ]

  def twice(%{size: size}), do: 2 * size
  def seconds({n, :s}) when is_integer(n), do: {:ok, n * 1000}
  def seconds(_), do: :error

  test "fills defaults, computes computed ones from earlier options, leaves optional ones out" do
    assert Schema.validate([name: :x], @schema) ==
             {:ok, %{mode: :a, size: 5, name: :x, twice: 10, limit: :infinity, label: nil}}

    assert {:ok, %{size: 3, twice: 6}} = Schema.validate([name: :x, size: 3], @schema)
  end

  test "normalises through custom types and takes the first type of an :or that accepts" do
    assert {:ok, %{ttl: 2000, limit: 7}} =
             Schema.validate([name: :x, ttl: {2, :s}, limit: 7], @schema)
  end

  test "each type rejects what it does not accept, naming the key, the rule and the value" do
    for {opts, message} <- [
          {[mode: :c], ":mode must be one of [:a, :b], got: :c"},
          {[size: 11], ":size must be an integer in 1..10, got: 11"},
          {[size: "3"], ~s(:size must be an integer in 1..10, got: "3")},
          {[name: nil], ":name must be an atom, got: nil"},
          {[name: true], ":name must be an atom, got: true"},
          {[twice: 0], ":twice must be a positive integer, got: 0"},
          {[limit: :never], ":limit must be a positive integer or :infinity, got: :never"},
          {[ttl: 5], ":ttl must be seconds as {n, :s}, got: 5"}
        ] do
      assert Schema.validate(Keyword.put_new(opts, :name, :x), @schema) == {:error, message}
    end
  end

  test "a computed default that breaks its type is an error" do
    schema = [
      size: [type: :any, default: 6],
      half: [type: :boolean, default: {:computed, "", &__MODULE__.twice/1}]
    ]

    assert Schema.validate([], schema) == {:error, ":half must be a boolean, got: 12"}
  end

  test "unknown options are rejected with the known ones listed" do
    assert Schema.validate([name: :x, sise: 3, colour: 1, sise: 4], @schema) ==
             {:error,
              "unknown option [:sise, :colour], allowed: [:mode, :size, :name, :twice, :limit, :ttl, :label], " <>
                "got: [name: :x, sise: 3, colour: 1, sise: 4]"}
  end

  test "required options must be given; options must be a keyword list" do
    assert Schema.validate([], @schema) == {:error, "required option :name not given, got: []"}

    assert Schema.validate(%{name: :x}, @schema) ==
             {:error, "options must be a keyword list, got: %{name: :x}"}

    assert Schema.validate([:name], @schema) ==
             {:error, "options must be a keyword list, got: [:name]"}
  end

  test "validate!/2 raises ArgumentError with the message" do
    assert_raise ArgumentError, ":size must be an integer in 1..10, got: 0", fn ->
      Schema.validate!([name: :x, size: 0], @schema)
    end
  end

  test "docs and table are made from the schema" do
    docs = Schema.docs(@schema)
    assert docs =~ "  * `:mode` (one of [:a, :b]; default `:a`) - The mode.\n"
    assert docs =~ "  * `:name` (an atom; required) - The name.\n"

    assert docs =~
             "  * `:twice` (a positive integer; default twice the size) - Computed from `:size`.\n"

    assert docs =~ "  * `:label` (anything at all; default `nil`) - Free."
    assert length(String.split(docs, "\n")) == length(@schema)

    table = Schema.table(@schema)
    assert table =~ "| `ttl` | seconds as {n, :s} | none | Optional. |\n"
    assert length(String.split(table, "\n", trim: true)) == length(@schema) + 2
  end

  # Values to try for an option: its literal default, and values of every kind.
  @probes [nil, true, false, 0, 1, 7, -3, 10_000, :a, :b, :strict, :skip, "x", [], {5, :s}]

  defp probes(rules) do
    case Keyword.fetch(rules, :default) do
      {:ok, {:computed, _, _}} -> @probes
      {:ok, default} -> [default | @probes]
      :error -> @probes
    end
  end

  test "a repeated option is taken the first time, not called unknown" do
    assert {:ok, %{name: :a, size: 3}} = Schema.validate([name: :a, size: 3, name: nil], @schema)
    assert {:error, "unknown option [:nope]" <> _} = Schema.validate([name: :a, nope: 1], @schema)
  end

  test "a compiled schema gives what validate/2 gives, message and all, on every schema" do
    schemas = [
      {:test, @schema}
      | Enum.map(Snakepit.Marc.Options.names(), &{&1, Snakepit.Marc.Options.spec(&1)})
    ]

    :rand.seed(:exsss, {1, 2, 3})

    for {name, schema} <- schemas do
      compiled = Schema.compile(schema)
      required = for {key, rules} <- schema, rules[:required], do: {key, :a}

      # Each option alone with each probe, then random mixes, repeats and unknown keys.
      singles = for {key, rules} <- schema, value <- probes(rules), do: required ++ [{key, value}]

      mixes =
        for _ <- 1..200, schema != [] do
          n = :rand.uniform(4)

          picked =
            for _ <- 1..n do
              {key, rules} = Enum.random(schema)
              {key, Enum.random(probes(rules))}
            end

          Enum.random([picked, required ++ picked, picked ++ [unknown: 1], picked ++ picked])
        end

      for opts <- [[], required, [{"key", 1}], [:bare], :not_a_list] ++ singles ++ mixes do
        assert Schema.validate_compiled(opts, compiled) == Schema.validate(opts, schema),
               "#{name}: #{inspect(opts)}"
      end
    end
  end
end
