defmodule Snakepit.ErrorTest do
  use ExUnit.Case, async: true

  alias Snakepit.Error

  test "every documented reason has its own message" do
    details = %{
      pool: :p,
      command: :parse,
      timeout: 10,
      exit_reason: :killed,
      args: [1],
      panic: "oops",
      message: "boom"
    }

    messages =
      for reason <- [
            :pool_not_found,
            :pool_saturated,
            :queue_timeout,
            :timeout,
            :worker_crashed,
            :unsupported_command,
            :invalid_arguments,
            :native_panic,
            :exception,
            {:node_down, :"b@127.0.0.1"}
          ] do
        error = Error.new(reason, details)
        assert %Error{reason: ^reason, details: ^details} = error
        assert is_binary(Exception.message(error))
        Exception.message(error)
      end

    assert length(Enum.uniq(messages)) == length(messages)

    assert Exception.message(Error.new(:pool_not_found, pool: :p)) =~
             "no Snakepit pool named :p is running: configure it under `config :snakepit, pools:"
  end

  test "a node that went down is named, with the pool" do
    message = Exception.message(Error.new({:node_down, :b@h}, pool: :marc, command: :map))
    assert message == "node b@h went down or stopped answering while running :map for pool :marc"
  end

  test "a timeout says what to do instead" do
    message = Exception.message(Error.new(:timeout, command: :parse, timeout: 5000))
    assert message =~ "command :parse got no result within 5000 ms"
    assert message =~ "`timeout:`"
    assert message =~ "Snakepit.Marc.stream/2"
  end

  test "errors without a pool name do not say \"pool nil\"" do
    for reason <- [:pool_not_found, :pool_saturated, :queue_timeout] do
      refute Exception.message(Error.exception(reason: reason)) =~ "nil"
    end
  end

  for profile <- [:process, :thread] do
    test "#{profile}: a bad option through a pool gives the direct call's message" do
      pool = :"error_pool_#{System.unique_integer([:positive])}"

      start_supervised!(
        {Snakepit.Pool, name: pool, worker_profile: unquote(profile), pool_size: 1}
      )

      bytes = :binary.copy("x", 100_000)

      direct = assert_raise ArgumentError, fn -> Snakepit.Marc.parse(bytes, mode: :lenient) end

      assert {:error, %Error{reason: :invalid_arguments} = error} =
               Snakepit.execute(:parse, [bytes, [mode: :lenient]], pool: pool)

      assert Exception.message(error) == Exception.message(direct)
    end
  end

  test "unknown reasons still describe themselves" do
    assert Exception.message(Error.new(:something_else, %{a: 1})) =~ ":something_else"
  end

  test "execute! raises command errors as they are" do
    assert_raise Error, ~r/command :frobnicate is not supported/, fn ->
      pool = :"error_pool_#{System.unique_integer([:positive])}"
      start_supervised!({Snakepit.Pool, name: pool, pool_size: 1})
      Snakepit.execute!(:frobnicate, [], pool: pool)
    end
  end
end
