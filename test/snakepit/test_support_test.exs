defmodule Snakepit.TestSupportTest do
  use ExUnit.Case, async: true

  # Snakepit.Test.MixTask captures :stderr, which is global: a module using it that runs
  # async with others gets their stderr in its capture (a convert test once failed on
  # another test's "bad record: too_large" line).
  test "every test module that runs mix tasks through MixTask is not async" do
    async_users =
      for path <- Path.wildcard("test/**/*_test.exs") -- [Path.relative_to_cwd(__ENV__.file)],
          source = File.read!(path),
          source =~ "MixTask.run",
          source =~ ~r/use [\w.]+, async: true/,
          do: path

    assert async_users == []
  end
end
