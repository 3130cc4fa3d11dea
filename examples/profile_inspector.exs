# The profile inspector on a busy pool: figures, saturation check, recommendations, and
# the text report `mix snakepit.profile_inspector --detailed --recommendations` prints.
#
#     mix run examples/profile_inspector.exs
alias Snakepit.Diagnostics.{ProfileInspector, Report}

{:ok, sup} =
  Supervisor.start_link(
    [{Snakepit.Pool, name: :example_inspected, worker_profile: :process, pool_size: 2}],
    strategy: :one_for_one
  )

bytes = File.read!(Path.expand("../shared/corpus/real/loc_bibliographic.mrc"))

# Two long units of work hold both workers while six parses queue behind them.
sleeping =
  for _ <- 1..2,
      do:
        Task.async(fn ->
          Snakepit.Pool.run(:example_inspected, fn -> Process.sleep(1500) end, 5000)
        end)

# Wait (at most 5 s) until the sleepers occupy both workers.
Enum.find_value(1..500, fn _ ->
  match?({:ok, %{load: 2}}, Snakepit.pool_status(:example_inspected)) ||
    (Process.sleep(10) && nil)
end)

parsing =
  for _ <- 1..6 do
    Task.async(fn ->
      Snakepit.execute(:parse, [bytes], pool: :example_inspected, timeout: 60_000)
    end)
  end

saturation = ProfileInspector.check_saturation(:example_inspected, 50)
IO.puts("saturation at 50%: #{inspect(saturation)}")
Enum.each(sleeping ++ parsing, &Task.await(&1, 60_000))
saturation = ProfileInspector.check_saturation(:example_inspected, 50)
IO.puts("after the work:    #{inspect(saturation)}")

{:ok, report} = ProfileInspector.get_pool_report(:example_inspected)

ProfileInspector.get_comprehensive_report()
|> Map.put(:pools, [report])
|> Report.text(detailed: true, recommendations: true)
|> IO.write()

Supervisor.stop(sup)
