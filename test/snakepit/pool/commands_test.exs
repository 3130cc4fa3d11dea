defmodule Snakepit.Pool.CommandsTest do
  # A pool runs the commands of its command module (Snakepit.Pool.Commands), whatever they
  # are: the MARC ones by default, any other module's when configured.
  use Snakepit.PoolCase, async: true

  alias Snakepit.Marc.Commands, as: MarcCommands
  alias Snakepit.Native
  alias Snakepit.Test.Corpus

  defmodule Text do
    @moduledoc false
    # A command module with nothing of MARC: no native plan, no error mapping of its own.
    @behaviour Snakepit.Pool.Commands

    @impl true
    def commands, do: [:upcase, :crash]

    @impl true
    def run(:upcase, [text]) when is_binary(text), do: {:ok, String.upcase(text)}
    def run(:upcase, args), do: {:error, {:not_text, args}}
    def run(:crash, []), do: raise(ArgumentError, "crashed on purpose")
  end

  for profile <- [:process, :thread] do
    describe "#{profile} profile" do
      test "a pool runs its own command module's commands and no others" do
        pool = start_pool!(worker_profile: unquote(profile), pool_size: 1, commands: Text)

        assert Snakepit.execute(:upcase, ["abc"], pool: pool) == {:ok, "ABC"}
        assert Snakepit.execute(:upcase, [1], pool: pool) == {:error, {:not_text, [1]}}
        assert Snakepit.execute(:ping, [:still], pool: pool) == {:ok, :still}
        assert Snakepit.Pool.run(pool, fn -> :fun end) == {:ok, :fun}

        assert {:error, %Snakepit.Error{reason: :unsupported_command, message: message}} =
                 Snakepit.execute(:count, ["x"], pool: pool)

        assert message =~ ":count is not supported: this pool runs [:ping, :upcase, :crash]"
      end

      test "a raise becomes an :exception error unless the module maps it" do
        pool = start_pool!(worker_profile: unquote(profile), pool_size: 1, commands: Text)

        assert {:error, %Snakepit.Error{reason: :exception, message: message}} =
                 Snakepit.execute(:crash, [], pool: pool)

        assert message =~ "crashed on purpose"

        # The MARC commands map an ArgumentError to :invalid_arguments, with its message.
        marc = start_pool!(worker_profile: unquote(profile), pool_size: 1)

        assert {:error, %Snakepit.Error{reason: :invalid_arguments, message: message}} =
                 Snakepit.execute(:count, ["records.mrc"], pool: marc)

        assert message =~ "takes MARC data, not a file path"

        assert {:error, %Snakepit.Error{reason: :invalid_arguments}} =
                 Snakepit.execute(:scan, [<<>>, [], :extra], pool: marc)
      end

      test "the test hooks are not production commands" do
        pool = start_pool!(worker_profile: unquote(profile), pool_size: 1)

        for {hook, args} <- [sleep: [0], __panic__: []] do
          assert {:error, %Snakepit.Error{reason: :unsupported_command}} =
                   Snakepit.execute(hook, args, pool: pool)
        end
      end
    end
  end

  test "the MARC commands are the record API's functions, native ones first" do
    assert MarcCommands.commands() == [
             :parse,
             :validate,
             :scan,
             :count,
             :extract,
             :lint,
             :encode,
             :to_json,
             :to_xml
           ]

    assert MarcCommands.native_commands() -- MarcCommands.commands() == []
    # function_exported?/3 does not load a module.
    Code.ensure_loaded!(Snakepit.Marc)

    for command <- MarcCommands.commands() do
      assert function_exported?(Snakepit.Marc, command, 1) or
               function_exported?(Snakepit.Marc, command, 2) or
               function_exported?(Snakepit.Marc, command, 3),
             "Snakepit.Marc has no #{command}"
    end

    bytes = Corpus.read!("formats/pymarc_one.dat")

    for command <- MarcCommands.native_commands() -- [:extract] do
      assert {:native, ^command, _args, post} = MarcCommands.native_plan(command, [bytes])
      assert is_function(post, 1)
    end

    # Extraction of a batch runs natively; of a whole binary or small file, in the caller
    # with the worker's threads doing the native work.
    batch = %Snakepit.Marc.Batch{data: bytes, base_offset: 0, first_index: 0, count: 1}

    assert {:native, :extract, _args, post} =
             MarcCommands.native_plan(:extract, [batch, [t: "245a"]])

    assert is_function(post, 1)
    assert MarcCommands.native_plan(:extract, [bytes, [t: "245a"]]) == :local_with_threads
    small_file = %Snakepit.Marc.Extract.SmallFile{path: "x.mrc"}
    assert MarcCommands.native_plan(:extract, [small_file, [t: "245a"]]) == :local_with_threads

    for command <- MarcCommands.commands() -- MarcCommands.native_commands() do
      assert MarcCommands.native_plan(command, [[]]) == :local
    end
  end

  # The NIF crate's command table (Snakepit.Native.thread_pool_commands/0, from the native
  # slice of issue #11) against the one Elixir list. Runs once that function exists.
  test "the native command table runs exactly the MARC commands planned as native" do
    Code.ensure_loaded!(Native)

    if function_exported?(Native, :thread_pool_commands, 0) do
      table = MapSet.new(apply(Native, :thread_pool_commands, []))
      # Built into every pool (:ping; :__health__ for the thread profile's health checks),
      # and the test hooks of test builds.
      pool_and_hooks = MapSet.new([:ping, :__health__, :sleep, :__panic__])
      marc = MapSet.new(MarcCommands.native_commands())

      assert MapSet.subset?(marc, table),
             "not in the native table: #{inspect(MapSet.difference(marc, table) |> Enum.to_list())}"

      assert MapSet.difference(table, pool_and_hooks) == marc
    end
  end

  test "a command module must implement the behaviour" do
    assert Snakepit.Pool.Commands.check(Text) == :ok

    assert {:error, "module Snakepit.Config does not implement" <> _} =
             Snakepit.Pool.Commands.check(Snakepit.Config)

    assert {:error, "module :nope is not available"} = Snakepit.Pool.Commands.check(:nope)
    assert {:error, "not a module: 42"} = Snakepit.Pool.Commands.check(42)
  end
end
