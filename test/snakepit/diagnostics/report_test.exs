defmodule Snakepit.Diagnostics.ReportTest do
  use Snakepit.PoolCase, async: true

  alias Snakepit.Diagnostics.{ProfileInspector, Report}

  test "the text report names each pool and colours utilisation only when asked" do
    pool = start_pool!(worker_profile: :process, pool_size: 1)
    report = ProfileInspector.get_comprehensive_report()

    plain = Report.text(report, detailed: true, recommendations: true)
    assert plain =~ inspect(pool)
    assert plain =~ "utilisation 0.0%"
    assert plain =~ ~r/id\s+pid\s+status\s+load\s+memory/
    assert plain =~ "recommendations:"
    refute plain =~ "\e["

    colored = Report.text(report, color: true)
    assert colored =~ IO.ANSI.green() <> "0.0%"
  end

  test "JSON output takes pids, tuples and atoms" do
    json = Report.json(%{pid: self(), t: {1, :a}, inf: :infinity, f: 1.5, s: "é"})
    assert json == ~s({"f":1.5,"inf":"infinity","pid":"#{inspect(self())}","s":"é","t":[1,"a"]})
  end

  test "number formats" do
    assert Report.int(1_234_567) == "1,234,567"
    assert Report.int(999) == "999"
    assert Report.bytes(512) == "512 B"
    assert Report.bytes(3 * 1024 * 1024) == "3.0 MiB"
    assert Report.pct(33.333) == "33.3%"
  end
end
