defmodule Snakepit.DocsTest do
  # Every code sample in docs/formats.md runs here: ```elixir blocks are evaluated (each in
  # a fresh binding, from the project root; the samples assert with pattern matches), and
  # each `mix snakepit.convert` line of ```shell blocks runs the task.
  use ExUnit.Case, async: false

  import ExUnit.CaptureIO

  @doc_path Path.expand("../docs/formats.md", __DIR__)
  @external_resource @doc_path

  defp blocks(lang) do
    ~r/^```#{lang}\n(.*?)^```$/ms
    |> Regex.scan(File.read!(@doc_path), capture: :all_but_first)
    |> Enum.map(&hd/1)
  end

  test "the page has samples" do
    assert length(blocks("elixir")) >= 6
    assert length(blocks("shell")) >= 1
  end

  for {code, i} <-
        Enum.with_index(
          Regex.scan(~r/^```elixir\n(.*?)^```$/ms, File.read!(@doc_path), capture: :all_but_first)
        ) do
    @code hd(code)
    test "elixir sample #{i} of docs/formats.md runs" do
      File.cd!(Path.expand("..", __DIR__), fn ->
        try do
          Code.eval_string(@code, [], file: @doc_path)
        rescue
          e ->
            flunk(
              "sample #{unquote(i)} raised #{Exception.format(:error, e, __STACKTRACE__)}\n#{@code}"
            )
        end
      end)
    end
  end

  test "the convert commands of docs/formats.md run" do
    File.mkdir_p!("/tmp/snakepit_docs")
    on_exit(fn -> File.rm_rf!("/tmp/snakepit_docs") end)

    commands =
      blocks("shell")
      |> Enum.flat_map(&String.split(&1, "\n", trim: true))
      |> Enum.filter(&String.starts_with?(&1, "mix snakepit.convert "))

    assert length(commands) >= 4

    File.cd!(Path.expand("..", __DIR__), fn ->
      for command <- commands do
        ["mix", "snakepit.convert" | args] = OptionParser.split(command)

        capture_io(:stderr, fn ->
          out = capture_io(fn -> Mix.Tasks.Snakepit.Convert.run(args) end)
          assert out =~ "records written", command
        end)
      end
    end)

    {:ok, original} =
      Snakepit.Marc.parse(File.read!("../shared/corpus/real/loc_bibliographic.mrc"))

    assert Snakepit.Marc.parse(File.read!("/tmp/snakepit_docs/loc.mrc")) == {:ok, original}
  end
end
