defmodule Snakepit.Marc.OptionsTest do
  # Every public function that takes options rejects an unknown one, with the ones it knows.
  # The functions are found from the docs of every public module of the application, so a
  # new function taking `opts` fails here until it is given sample arguments below.
  use ExUnit.Case, async: true

  alias Snakepit.Config
  alias Snakepit.Marc
  alias Snakepit.Marc.Options
  alias Snakepit.Options.Schema
  alias Snakepit.Test.Corpus

  @record %Marc.Record{
    leader: "00000nam a2200000 a 4500",
    fields: [Marc.Field.control("001", "1")]
  }

  # The arguments before `opts`, for each function taking options.
  defp leading_args({Snakepit, :execute, 3}), do: [:ping, [1]]
  defp leading_args({Snakepit, :execute!, 3}), do: [:ping, [1]]
  defp leading_args({Snakepit.Pool, :start_link, 1}), do: []
  defp leading_args({Snakepit.Metrics, :start_link, 1}), do: []
  defp leading_args({Marc, :map, 3}), do: [data(), &Function.identity/1]
  defp leading_args({Marc, :each, 3}), do: [data(), &Function.identity/1]
  defp leading_args({Marc, :parse_batch, 2}), do: [data() |> Marc.batches() |> Enum.at(0)]
  defp leading_args({Marc, fun, 2}) when fun in [:to_json, :to_xml], do: [@record]
  defp leading_args({Marc, fun, 2}) when fun in [:to_mrk, :to_text], do: [@record]
  defp leading_args({Marc, :from_mrk, 2}), do: [""]
  defp leading_args({Marc, fun, 2}) when fun in [:json_stream, :xml_stream], do: [[@record]]
  defp leading_args({Marc, :extract, 3}), do: [data(), [t: "245a"]]
  defp leading_args({Marc, :lint, 2}), do: [@record]
  defp leading_args({Marc, :lint_stream, 2}), do: [data()]
  defp leading_args({Marc.Spec, :compile!, 2}), do: [[t: "245a"]]
  defp leading_args({Marc.Table, :stream, 2}), do: [[]]
  defp leading_args({Marc.Table, :write, 3}), do: [[], Path.join(System.tmp_dir!(), "never.csv")]
  defp leading_args({Marc, :encode, 2}), do: [@record]
  defp leading_args({Marc, :iso_stream, 2}), do: [[@record]]
  defp leading_args({Marc, :from_json, 2}), do: ["[]"]
  defp leading_args({Marc, :from_xml, 2}), do: ["<collection/>"]

  defp leading_args({Marc, :encoding_report, 2}), do: [data()]

  defp leading_args({Marc, fun, 2})
       when fun in [:parse, :parse!, :count, :validate, :stream, :batches],
       do: [data()]

  defp leading_args(mfa), do: flunk("give #{inspect(mfa)} sample arguments in #{__ENV__.file}")

  defp data, do: Corpus.read!("formats/pymarc_one.dat")

  defp functions_taking_opts do
    {:ok, modules} = :application.get_key(:snakepit, :modules)

    for module <- Enum.sort(modules),
        {:docs_v1, _, _, _, moduledoc, _, docs} <- [Code.fetch_docs(module)],
        moduledoc != :hidden,
        {{:function, fun, arity}, _, [signature], doc, _} <- docs,
        doc != :hidden,
        signature =~ ~r/\bopts( \\\\ \[\])?\)$/,
        do: {module, fun, arity}
  end

  test "the functions taking options are found" do
    found = functions_taking_opts()
    assert {Marc, :count, 2} in found
    assert {Marc, :xml_stream, 2} in found
    assert {Snakepit, :execute, 3} in found
    assert length(found) >= 17, inspect(found)
  end

  test "every public function taking options rejects an unknown one, naming it" do
    for {module, fun, _arity} = mfa <- functions_taking_opts() do
      args = leading_args(mfa) ++ [[bogus_option: 1]]

      error =
        try do
          apply(module, fun, args)
          flunk("#{inspect(mfa)} accepted an unknown option")
        rescue
          e in ArgumentError -> e
        end

      assert error.message =~ "unknown option", "#{inspect(mfa)}: #{error.message}"
      assert error.message =~ "bogus_option", "#{inspect(mfa)}: #{error.message}"
    end
  end

  test "the record API's unknown-option errors list the options it knows" do
    error = assert_raise ArgumentError, fn -> Marc.to_json(@record, line: true) end

    assert error.message ==
             "unknown option [:line], allowed: [:lines], got: [line: true]"

    error = assert_raise ArgumentError, fn -> Marc.map(data(), & &1, worker: 2) end
    assert error.message =~ "unknown option [:worker], allowed: [:mode,"
  end

  test "every literal default of every schema passes its own type" do
    schemas = [Config.Options.schema() | Enum.map(Options.names(), &Options.spec/1)]

    for schema <- schemas, {key, rules} <- schema, Keyword.has_key?(rules, :default) do
      case rules[:default] do
        {:computed, _text, fun} ->
          assert is_function(fun, 1), "#{key}: a computed default is a function of arity 1"

        default ->
          assert {:ok, _} = Schema.check(key, default, rules),
                 "#{key}: default #{inspect(default)}"
      end
    end
  end

  test "the keys handed to each batch's parse are the read options but :report" do
    assert Options.parse_keys() == Keyword.keys(Options.spec(:read)) -- [:report]
    assert :records in Options.parse_keys()
  end

  test "fan-out options are checked in the caller" do
    for {opts, message} <- [
          {[workers: 0], ":workers must be a positive integer, got: 0"},
          {[ordered: 1], ":ordered must be a boolean, got: 1"},
          {[timeout: 0], ":timeout must be a positive integer or :infinity, got: 0"},
          {[pool: "x"], ~s(:pool must be a pool name \(an atom\), got: "x")}
        ] do
      assert_raise ArgumentError, message, fn -> Marc.map(data(), & &1, opts) end
    end
  end

  test "the writers' options are checked" do
    assert_raise ArgumentError, ":lines must be a boolean, got: 1", fn ->
      Marc.to_json(@record, lines: 1)
    end

    assert_raise ArgumentError, ":batch_size must be a positive integer, got: 0", fn ->
      Marc.xml_stream([@record], batch_size: 0)
    end

    assert [@record] |> Marc.json_stream(batch_size: 1, lines: true) |> Enum.join() ==
             Marc.to_json([@record], lines: true)
  end

  test "the docs of Snakepit.Marc are made from the schemas" do
    {:docs_v1, _, _, _, _, _, docs} = Code.fetch_docs(Marc)
    doc = fn name, arity -> docs |> List.keyfind({:function, name, arity}, 0) |> elem(3) end

    for {fun, arity, schema} <- [
          {:parse, 2, :read},
          {:count, 2, :count},
          {:stream, 2, :stream},
          {:map, 3, :fan_out},
          {:to_json, 2, :to_json},
          {:json_stream, 2, :json_stream},
          {:xml_stream, 2, :xml_stream},
          {:from_mrk, 2, :read}
        ] do
      assert doc.(fun, arity)["en"] =~ Options.docs(schema), "#{fun}/#{arity}"
    end
  end
end

defmodule Snakepit.Marc.ThreadsSettingTest do
  # SNAKEPIT_NUM_THREADS is read in one place. Changes the OS environment: not async.
  use ExUnit.Case, async: false

  alias Snakepit.Config.Options

  setup do
    saved = System.get_env("SNAKEPIT_NUM_THREADS")

    on_exit(fn ->
      if saved,
        do: System.put_env("SNAKEPIT_NUM_THREADS", saved),
        else: System.delete_env("SNAKEPIT_NUM_THREADS")
    end)
  end

  test "the variable is read by one function only" do
    readers =
      for path <- Path.wildcard(Path.expand("../../../lib/**/*.ex", __DIR__)),
          File.read!(path) =~ ~r/get_env\(\s*"SNAKEPIT_NUM_THREADS"/,
          do: Path.relative_to(path, Path.expand("../../..", __DIR__))

    assert readers == ["lib/snakepit/config/options.ex"]
  end

  test "pools and streams take the same default from it" do
    System.put_env("SNAKEPIT_NUM_THREADS", " 3 ")
    assert Options.env_threads() == 3
    assert Options.thread_setting() == {3, :env}
    assert Snakepit.Config.normalize_pool!(worker_profile: :thread).threads_per_worker == 3
    assert Snakepit.Marc.Options.validate!([], :stream).threads == 3

    for bad <- ["lots", "0", "-2", ""] do
      System.put_env("SNAKEPIT_NUM_THREADS", bad)
      assert Options.env_threads() == nil
      assert Options.thread_setting() == {Options.logical_cores(), :default}
      assert Snakepit.Marc.Options.validate!([], :stream).threads == Options.logical_cores()
    end
  end
end
