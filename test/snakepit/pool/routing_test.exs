defmodule Snakepit.Pool.RoutingTest do
  use Snakepit.PoolCase, async: true

  for profile <- [:process, :thread] do
    test "#{profile}: sequential requests of one caller spread over equal-load workers" do
      pool = start_pool!(worker_profile: unquote(profile), pool_size: 4, threads_per_worker: 1)
      capture_telemetry([[:snakepit, :request, :stop]], pool)

      for i <- 1..20, do: assert(Snakepit.execute(:ping, [i], pool: pool) == {:ok, i})

      workers =
        for _ <- 1..20 do
          assert_receive {:telemetry, _, _, %{worker: worker}}, 1000
          worker
        end

      # Random choices among idle workers: all 20 on one worker has odds of 4 in 4^20.
      assert length(Enum.uniq(workers)) > 1
    end
  end
end
