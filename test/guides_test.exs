defmodule Snakepit.GuidesTest do
  # Runs every ```elixir block of the guides, each on its own (blocks are self-contained),
  # from the project root, so the guides cannot drift from the code.
  #
  # Not async: the samples parse whole files through pools (tens of MB of records at once),
  # which would skew tests elsewhere that measure the VM's total memory while they run.
  use ExUnit.Case, async: false

  import ExUnit.CaptureIO

  @root Path.expand("..", __DIR__)
  @guides ~w(getting-started choosing-a-profile operations migrating-from-pymarc-and-mrrc extraction
              editing-records fixed-fields cluster validation)

  @doc false
  def blocks(path) do
    path
    |> File.read!()
    |> String.split("\n")
    |> Enum.with_index(1)
    |> Enum.reduce({[], nil}, fn
      {"```elixir", line}, {blocks, nil} ->
        {blocks, {line + 1, []}}

      {"```" <> _, _line}, {blocks, {start, lines}} ->
        {[{start, Enum.reverse(lines)} | blocks], nil}

      {text, _line}, {blocks, {start, lines}} ->
        {blocks, {start, [text | lines]}}

      {_text, _line}, acc ->
        acc
    end)
    |> then(fn {blocks, nil} -> Enum.reverse(blocks) end)
    |> Enum.map(fn {line, lines} -> {line, Enum.join(lines, "\n")} end)
  end

  for guide <- @guides do
    path = Path.join([@root, "docs", guide <> ".md"])
    @external_resource path

    test "every elixir block of docs/#{guide}.md runs" do
      path = unquote(path)
      blocks = blocks(path)
      assert length(blocks) >= 2, "#{path} should have code samples"

      for {line, code} <- blocks do
        # A fresh process per block: what a block links or leaves in its mailbox stays there.
        task =
          Task.async(fn ->
            capture_io(fn ->
              try do
                Code.eval_string(code, [], file: path, line: line)
                send(self(), :ok)
              rescue
                e -> send(self(), {:raised, Exception.format(:error, e, __STACKTRACE__)})
              end
            end)

            receive do
              msg -> msg
            end
          end)

        case Task.await(task, 120_000) do
          :ok ->
            :ok

          {:raised, message} ->
            flunk("docs block at #{Path.basename(path)}:#{line} raised:\n#{message}")
        end
      end
    end
  end

  test "the block extractor finds blocks and their lines" do
    path = Path.join(System.tmp_dir!(), "guide_#{System.unique_integer([:positive])}.md")
    File.write!(path, "text\n```elixir\n1 + 1\n```\n```sh\nls\n```\n```elixir\n:a\n:b\n```\n")
    assert blocks(path) == [{3, "1 + 1"}, {9, ":a\n:b"}]
    File.rm(path)
  end
end
