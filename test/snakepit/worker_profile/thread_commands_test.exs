defmodule Snakepit.WorkerProfile.ThreadCommandsTest do
  # The native command table (native/snakepit_nif/src/pool_commands.rs) is the one list
  # of commands a :thread worker runs natively; `thread_pool_commands/0` hands it out.
  use ExUnit.Case, async: true

  alias Snakepit.Native

  @marc_commands [:ping, :__health__, :count, :scan, :parse, :validate, :extract, :lint]
  # Only in the test library (Cargo feature test-hooks, test_hooks.rs).
  @test_hooks [:sleep, :__panic__]

  test "the table lists every native command, the test hooks included in a test build" do
    assert Native.thread_pool_commands() == @marc_commands ++ @test_hooks
  end

  test "every listed command is run, and nothing else" do
    {:ok, pool} = Native.thread_pool_new(1, self(), 1, 0)

    for command <- Native.thread_pool_commands() -- [:__panic__, :sleep] do
      tag = make_ref()
      assert Native.thread_pool_submit(pool, tag, command, :not_valid_arguments) == :ok
      assert_receive {^tag, reply}, 1000
      refute match?({:error, {:unknown_command, _}}, reply), "#{command}: #{inspect(reply)}"
    end

    assert Native.thread_pool_submit(pool, make_ref(), :nope, 1) ==
             {:error, {:unknown_command, :nope}}

    Native.thread_pool_close(pool)
  end

  test "a command given arguments it cannot take names itself" do
    {:ok, pool} = Native.thread_pool_new(1, self(), 1, 0)

    for command <- [:count, :scan, :parse, :validate, :sleep] do
      tag = make_ref()
      assert Native.thread_pool_submit(pool, tag, command, :not_valid_arguments) == :ok
      assert_receive {^tag, {:error, {:invalid_arguments, name}}}, 1000
      assert name == Atom.to_string(command)
    end

    Native.thread_pool_close(pool)
  end
end
