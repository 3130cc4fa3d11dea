defmodule Snakepit.Marc.FixedFieldsDocTest do
  # Every ```elixir block of docs/fixed-fields.md runs here, each in a fresh binding, from
  # the project root; the samples assert with pattern matches.
  use ExUnit.Case, async: true

  @doc_path Path.expand("../../../docs/fixed-fields.md", __DIR__)
  @external_resource @doc_path

  @samples Regex.scan(~r/^```elixir\n(.*?)^```$/ms, File.read!(@doc_path), capture: :all_but_first)

  test "the page has samples" do
    assert length(@samples) >= 6
  end

  for {[code], i} <- Enum.with_index(@samples) do
    @code code
    test "elixir sample #{i} of docs/fixed-fields.md runs" do
      File.cd!(Path.expand("../../..", __DIR__), fn ->
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
end
