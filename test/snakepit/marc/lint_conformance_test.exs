defmodule Snakepit.Marc.LintConformanceTest do
  # Every problem MARC::Lint and MARC::Schema (the check `marcvalidate` runs) report on the
  # corpus, mapped to our codes, is reported by lint_stream/2 for the same record and tag;
  # the exceptions are the kinds docs/validation.md lists, each with its reason. The
  # references' findings are committed (test/fixtures/lint, scripts/gen_lint_fixtures.sh).
  use ExUnit.Case, async: true

  alias Snakepit.Test.Corpus

  @fixtures Path.expand("../../fixtures/lint", __DIR__)

  # {kind, reason key of docs/validation.md}: findings of the references we do not make.
  @exceptions [
    {~r/^245: (Must end with|MARC21 allows \? or !|Subfield _. (must|should) be preceded|Subfield _c initials|Subfield _h (should not|must have)|First subfield|May have too few)/,
     :punctuation},
    {~r/^020: +Subfield (a may have invalid characters|a qualifier must be preceded|z is numerically valid)/,
     :punctuation},
    {~r/^245: Must have a subfield _a/, :punctuation}
  ]

  defp fixtures, do: @fixtures |> File.ls!() |> Enum.sort()

  defp corpus_path(fixture) do
    [dir, name] = fixture |> String.trim_trailing(".tsv") |> String.split("_", parts: 2)
    Path.join(dir, name)
  end

  defp reference(fixture) do
    lines =
      Path.join(@fixtures, fixture)
      |> File.read!()
      |> String.split("\n", trim: true)
      |> Enum.reject(&String.starts_with?(&1, "#"))
      |> Enum.map(&String.split(&1, "\t"))

    [count] = for ["records", n] <- lines, do: String.to_integer(n)
    {count, Enum.reject(lines, &match?(["records" | _], &1))}
  end

  # Our issues per record index, for files both sides frame alike: no bad record on either
  # side and as many records.
  defp ours(fixture, count, findings) do
    entries =
      fixture |> corpus_path() |> Corpus.path() |> Snakepit.Marc.lint_stream() |> Enum.to_list()

    bad =
      Enum.any?(entries, fn {_, _, issues} ->
        Enum.any?(issues, &(&1.code == "record.invalid"))
      end)

    unreadable = Enum.any?(findings, &match?(["unreadable" | _], &1))

    # The bad/ files are broken on purpose, and each reader repairs or misreads them in its
    # own way (pymarc_bad_subfield_code.dat's offsets are one byte early: the Perl reader
    # cuts its fields elsewhere than the directory says).
    broken = String.starts_with?(fixture, "bad_")

    if broken or bad or unreadable or length(entries) != count,
      do: :framed_differently,
      else: Map.new(entries, fn {index, _offset, issues} -> {index, issues} end)
  end

  # What a reference finding is in our codes: {tag, codes} (tag nil for the record), or
  # {:exception, reason}.
  @doc false
  def expected(["marcschema", _index, _type, tag, error, _value]) do
    codes =
      case error do
        "unknown field" -> ["field.undefined", "field.local", "field.obsolete"]
        "field is not repeatable" -> ["field.not_repeatable"]
        "unknown subfield" -> ["subfield.undefined", "subfield.obsolete"]
        "subfield is not repeatable" -> ["subfield.not_repeatable"]
        "unknown " <> _indicator -> ["indicator.undefined", "indicator.obsolete"]
      end

    if tag == "880", do: {:exception, :all_880s_unknown}, else: {tag, codes}
  end

  def expected(["marclint", _index, _type, message]) do
    case Enum.find(@exceptions, fn {pattern, _} -> message =~ pattern end) do
      {_, reason} -> {:exception, reason}
      nil -> lint_codes(message)
    end
  end

  defp lint_codes("1XX: Only one 1XX" <> _), do: {nil, ["field.multiple_1xx"]}
  defp lint_codes("245: No 245 tag." <> _), do: {nil, ["field.missing"]}
  defp lint_codes("880: No subfield 6." <> _), do: {"880", ["linkage.missing"]}

  defp lint_codes(<<tag::binary-3, ": ", rest::binary>>) do
    codes =
      cond do
        rest =~ ~r/^Field is not repeatable/ -> ["field.not_repeatable"]
        rest =~ ~r/^Indicator \d must be/ -> ["indicator.undefined", "indicator.obsolete"]
        rest =~ ~r/^Subfield _.+ is not allowed/ -> ["subfield.undefined", "subfield.obsolete"]
        rest =~ ~r/^Subfield _. is not repeatable/ -> ["subfield.not_repeatable"]
        rest =~ ~r/invalid control character/ -> ["subfield.control_character"]
        rest =~ ~r/^Subfields are not allowed in fields lower/ -> ["field.control_delimiter"]
        rest =~ ~r/^Subfield a has bad checksum/ -> ["isbn.checksum"]
        rest =~ ~r/^Subfield a has the wrong number of digits/ -> ["isbn.invalid"]
        rest =~ ~r/may be obsolete/ and tag == "041" -> ["language.obsolete"]
        tag == "041" -> ["language.undefined"]
        rest =~ ~r/may be obsolete/ and tag == "043" -> ["geographic_area.obsolete"]
        tag == "043" -> ["geographic_area.undefined"]
        rest =~ ~r/^(First word|Non-filing indicator)/ -> ["title.nonfiling"]
      end

    {tag, codes}
  end

  # A finding is ours when the record has an issue of one of the codes on that tag (an 880
  # counts as the tag its $6 names, and the references' findings on a tag we hold undefined,
  # local or obsolete are that issue).
  defp reported?(issues, {tag, codes}) do
    Enum.any?(issues, fn issue ->
      (issue.code in codes and (tag == nil or issue.tag in [tag, "880"])) or
        (issue.code in ["field.undefined", "field.local", "field.obsolete"] and issue.tag == tag)
    end)
  end

  test "every problem the references report on the corpus is reported by lint_stream/2" do
    assert length(fixtures()) >= 20

    results =
      for fixture <- fixtures(),
          {count, findings} = reference(fixture),
          ours = ours(fixture, count, findings),
          ours != :framed_differently,
          finding <- findings do
        [_source, index, type | _] = finding
        issues = Map.fetch!(ours, String.to_integer(index))

        cond do
          type not in ~w(a c d e f g i j k m o p r t) ->
            {:exception, :not_bibliographic}

          true ->
            case expected(finding) do
              {:exception, reason} ->
                {:exception, reason}

              expected ->
                if reported?(issues, expected),
                  do: :reported,
                  else: {:missed, fixture, finding, issues}
            end
        end
      end

    missed = for {:missed, _, _, _} = m <- results, do: m

    assert missed == [],
           "#{length(missed)} missed, the first: #{inspect(Enum.take(missed, 3), pretty: true)}"

    assert Enum.count(results, &(&1 == :reported)) > 2000
    reasons = for({:exception, reason} <- results, do: reason) |> Enum.uniq()
    doc = File.read!("docs/validation.md")

    for reason <- reasons,
        do: assert(doc =~ "`#{reason}`", "docs/validation.md does not explain #{reason}")
  end

  # Our findings that neither reference makes are backed by the tables (the schema's data the
  # references do not read, or read differently) or by the MARC 21 rules the codes name;
  # these are the codes that may do so, as docs/validation.md explains.
  @beyond_the_references ~w(fixed.value fixed.obsolete fixed.length fixed.date leader.value
    field.missing field.local field.undefined field.obsolete indicator.undefined subfield.obsolete
    subfield.empty field.no_subfields language.undefined language.obsolete country.undefined
    country.obsolete geographic_area.undefined geographic_area.obsolete linkage.unpaired
    linkage.invalid issn.invalid issn.checksum title.nonfiling isbn.invalid)

  test "our findings beyond the references are of the codes the tables back" do
    extra =
      for fixture <- fixtures(),
          {count, findings} = reference(fixture),
          ours = ours(fixture, count, findings),
          ours != :framed_differently,
          by_record = Enum.group_by(findings, &Enum.at(&1, 1)),
          {index, issues} <- ours,
          expected = Enum.map(Map.get(by_record, "#{index}", []), &expected/1),
          issue <- issues,
          not Enum.any?(
            expected,
            &(match?({_, codes} when is_list(codes), &1) and explains?(&1, issue))
          ),
          do: issue.code

    unexplained = Enum.uniq(extra) -- @beyond_the_references
    assert unexplained == [], inspect(Enum.frequencies(extra))
  end

  defp explains?({tag, codes}, issue),
    do: issue.code in codes and (tag == nil or issue.tag in [tag, "880"])
end
