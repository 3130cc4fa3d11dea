defmodule Snakepit.ExamplesTest do
  # Runs every examples/*.exs as `mix run` would, in its own VM (they start and stop pools,
  # attach handlers, and must terminate by themselves).
  use ExUnit.Case, async: true

  @root Path.expand("..", __DIR__)
  @examples @root |> Path.join("examples/*.exs") |> Path.wildcard() |> Enum.sort()

  # What each example must print: proof that it did its job, not only that it exited.
  @expected %{
    "threaded_profile_demo.exs" => [
      "Same records from both profiles: true",
      "native threads running"
    ],
    "stream_big_file.exs" => ["2000 records, 0 bad"],
    "bad_records.exs" => ["pymarc_bad_records.mrc", ":skip        2 kept, 7 skipped"],
    "telemetry_metrics.exs" => [
      "{:example_metrics, :count}: 20 requests",
      "{:example_metrics, :saturated}: 1"
    ],
    "profile_inspector.exs" => [
      "saturation at 50%: {:warning, :approaching_saturation",
      "recommendations:"
    ]
  }

  test "every example has expectations" do
    assert Enum.sort(Enum.map(@examples, &Path.basename/1)) == Enum.sort(Map.keys(@expected))
  end

  for path <- @examples do
    @external_resource path
    name = Path.basename(path)

    @tag timeout: 180_000
    test "examples/#{name} runs to completion" do
      {out, status} =
        System.cmd("mix", ["run", "--no-compile", unquote(path)],
          cd: @root,
          env: [{"MIX_ENV", "test"}],
          stderr_to_stdout: true
        )

      assert status == 0, "examples/#{unquote(name)} exited with #{status}:\n#{out}"

      for expected <- Map.fetch!(@expected, unquote(name)) do
        assert out =~ expected,
               "examples/#{unquote(name)} did not print #{inspect(expected)}:\n#{out}"
      end
    end
  end
end
