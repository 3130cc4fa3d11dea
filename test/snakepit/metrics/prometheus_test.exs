defmodule Snakepit.Metrics.PrometheusTest do
  # The text exposition format 0.0.4, rule by rule
  # (https://prometheus.io/docs/instrumenting/exposition_formats/).
  use ExUnit.Case, async: true

  alias Snakepit.Metrics.Prometheus

  defp render(families), do: families |> Prometheus.render() |> IO.iodata_to_binary()

  defp counter(samples, name \\ "x_total"),
    do: %{name: name, type: :counter, help: "Things.", samples: samples}

  test "a family is its HELP line, its TYPE line, then its samples, each line ending in \\n" do
    text = render([counter([{"x_total", [{"pool", "a"}], 3}, {"x_total", [], 1}])])

    assert text ==
             "# HELP x_total Things.\n" <>
               "# TYPE x_total counter\n" <>
               "x_total{pool=\"a\"} 3\n" <>
               "x_total 1\n"
  end

  test "one HELP and one TYPE per family, however many samples; a family name may not repeat" do
    samples = for i <- 1..5, do: {"x_total", [{"i", i}], i}
    text = render([counter(samples), %{counter([], "y") | type: :gauge}])
    assert length(Regex.scan(~r/^# TYPE x_total /m, text)) == 1
    assert length(Regex.scan(~r/^# HELP x_total /m, text)) == 1
    assert text =~ "# TYPE y gauge\n"

    assert_raise ArgumentError, ~r/unique.*x_total/, fn -> render([counter([]), counter([])]) end
  end

  test "label values escape backslash, double quote and newline, and nothing else" do
    text = render([counter([{"x_total", [{"v", "a\\b\"c\nd\té"}], 1}])])
    assert text =~ ~S(x_total{v="a\\b\"c\nd) <> "\té\"} 1\n"
    # The escaped line is still one line.
    assert text |> String.split("\n", trim: true) |> length() == 3
  end

  test "HELP escapes backslash and newline" do
    text = render([%{counter([]) | help: "a\\b\nc \"q\""}])
    assert text =~ ~S(# HELP x_total a\\b\nc "q") <> "\n"
  end

  test "label values of any term are text: atoms, numbers, others inspected" do
    text =
      render([counter([{"x_total", [{"a", :ok}, {"b", 1.5}, {"c", {1, 2}}, {"d", nil}], 1}])])

    assert text =~ ~S(x_total{a="ok",b="1.5",c="{1, 2}",d=""} 1)
  end

  test "metric names are [a-zA-Z_:][a-zA-Z0-9_:]*" do
    for good <- ["a", "_a", ":a", "a:b_c9", "A"], do: assert(Prometheus.metric_name?(good))
    for bad <- ["", "9a", "a-b", "a b", "a.b", "é"], do: refute(Prometheus.metric_name?(bad))

    assert_raise ArgumentError, ~r/invalid metric name.*a-b/, fn ->
      render([counter([{"a-b", [], 1}], "a-b")])
    end
  end

  test "label names are [a-zA-Z_][a-zA-Z0-9_]* and do not start with __" do
    for good <- ["a", "_a", "a9_b"], do: assert(Prometheus.label_name?(good))
    for bad <- ["", "9a", "a:b", "__a", "a-b"], do: refute(Prometheus.label_name?(bad))

    assert_raise ArgumentError, ~r/invalid label name.*__name/, fn ->
      render([counter([{"x_total", [{"__name", "v"}], 1}])])
    end
  end

  test "a sample must belong to its family" do
    assert_raise ArgumentError, ~r/not of family/, fn -> render([counter([{"y", [], 1}])]) end
  end

  test "histograms: cumulative _bucket lines with le (+Inf last, equal to _count), _sum, _count" do
    samples =
      Prometheus.histogram_samples("h", [{"pool", "p"}], [0.1, 1, 2.5], [2, 0, 3, 1], 4.25)

    text = render([%{name: "h", type: :histogram, help: "H.", samples: samples}])

    assert text ==
             """
             # HELP h H.
             # TYPE h histogram
             h_bucket{pool="p",le="0.1"} 2
             h_bucket{pool="p",le="1"} 2
             h_bucket{pool="p",le="2.5"} 5
             h_bucket{pool="p",le="+Inf"} 6
             h_sum{pool="p"} 4.25
             h_count{pool="p"} 6
             """
  end

  test "histogram buckets never decrease and +Inf equals _count, whatever the counts" do
    for _ <- 1..200 do
      n = :rand.uniform(12)
      bounds = Enum.scan(1..n, 0, fn _, acc -> acc + :rand.uniform(100) end)
      counts = for _ <- 0..n, do: :rand.uniform(50) - 1
      samples = Prometheus.histogram_samples("h", [], bounds, counts, 1.0)
      buckets = for {"h_bucket", _, v} <- samples, do: v
      [{"h_count", [], count}] = for {"h_count", _, _} = s <- samples, do: s

      assert length(buckets) == n + 1
      assert buckets == Enum.sort(buckets)
      assert List.last(buckets) == count
      assert count == Enum.sum(counts)
    end
  end

  test "numbers: integers as they are, floats in a form Prometheus parses" do
    assert Prometheus.number(42) == "42"
    assert Prometheus.number(0.5) == "0.5"
    assert Prometheus.number(3.5e-5) |> Float.parse() == {3.5e-5, ""}
  end

  test "the content type names version 0.0.4" do
    assert Prometheus.content_type() == "text/plain; version=0.0.4; charset=utf-8"
  end
end
