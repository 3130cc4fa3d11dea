defmodule Snakepit.Marc.LintTomlTest do
  # Rule sets written as TOML: read into the JSON form natively, so that one compiler
  # handles both; the same set in either form reports the same issues.
  use ExUnit.Case, async: false

  alias Snakepit.Marc
  alias Snakepit.Marc.Rules
  alias Snakepit.Test.Corpus

  # One rule set in both forms; the Rust tests read them too.
  @json File.read!("test/fixtures/rules/twin.json")
  @toml File.read!("test/fixtures/rules/twin.toml")

  defp tmp(name, text) do
    path = Path.join(System.tmp_dir!(), "#{System.unique_integer([:positive])}_#{name}")
    File.write!(path, text)
    on_exit(fn -> File.rm(path) end)
    path
  end

  test "the same rule set as JSON and as TOML compiles to the same codes and issues" do
    from_json = Rules.load!(tmp("rules.json", @json))
    from_toml = Rules.load!(tmp("rules.toml", @toml))
    assert Rules.enabled(from_toml) == Rules.enabled(from_json)
    assert Rules.from_toml!(@toml) |> Rules.enabled() == Rules.enabled(from_json)

    path = Corpus.path("real/loc_bibliographic.mrc")
    by_json = path |> Marc.lint_stream(rules: from_json) |> Enum.to_list()
    by_toml = path |> Marc.lint_stream(rules: tmp("rules.TOML", @toml)) |> Enum.to_list()
    assert by_toml == by_json

    codes = by_json |> Enum.flat_map(&elem(&1, 2)) |> MapSet.new(& &1.code)

    for code <- ~w(local.no9 local.lang),
        do: assert(code in codes, "#{code} is never reported")
  end

  test "a TOML syntax error names the file, its line and its column" do
    path = tmp("bad.toml", "disable = [\"field.local\"]\n\n[[rules]]\ncode = local.x\n")

    assert_raise ArgumentError,
                 ~r/^#{Regex.escape(path)}: invalid rule set: not valid TOML at line 4 column 8: /,
                 fn -> Rules.load!(path) end

    assert_raise ArgumentError, ~r/not valid TOML at line 1 column 1/, fn ->
      Rules.from_toml!("= 1")
    end
  end

  test "a well-formed TOML set with a bad rule is reported by its path, as JSON's is" do
    assert_raise ArgumentError,
                 ~r/invalid rule set: rules\[0\]\.code: every rule needs a code/,
                 fn ->
                   Rules.from_toml!("[[rules]]\ncode = 1\nforbid = \"590\"\n")
                 end

    json_error =
      assert_raise ArgumentError, fn ->
        Rules.compile!(rules: [[code: "x", at: "245a", pattern: "("]])
      end

    toml_error =
      assert_raise ArgumentError, fn ->
        Rules.from_toml!("[[rules]]\ncode = \"x\"\nat = \"245a\"\npattern = \"(\"\n")
      end

    assert toml_error.message == json_error.message
  end

  test "mix snakepit.lint --rules FILE.toml" do
    rules =
      tmp("rules.toml", "builtin = false\n[[rules]]\ncode = \"local.no500\"\nforbid = \"500\"\n")

    args = [Corpus.path("formats/pymarc_test.dat"), "--rules", rules]
    parent = self()

    out =
      ExUnit.CaptureIO.capture_io(fn ->
        ExUnit.CaptureIO.capture_io(:stderr, fn ->
          send(parent, {:status, Mix.Tasks.Snakepit.Lint.status(args)})
        end)
      end)

    assert_received {:status, 1}
    assert out =~ "local.no500"
  end
end
