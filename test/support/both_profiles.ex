defmodule Snakepit.Test.BothProfiles do
  @moduledoc false
  # One pool of each profile, supervised by the calling test, for tests that check a command
  # answers alike on both: `%{pools: [process_pool, thread_pool]}`, for a setup block.

  import ExUnit.Callbacks, only: [start_supervised!: 1]

  def start_pools!(prefix) do
    process = :"#{prefix}_pool_#{System.unique_integer([:positive])}"
    start_supervised!({Snakepit.Pool, name: process, worker_profile: :process, pool_size: 1})
    thread = :"#{prefix}_thread_#{System.unique_integer([:positive])}"

    start_supervised!(
      Supervisor.child_spec(
        {Snakepit.Pool,
         name: thread, worker_profile: :thread, pool_size: 1, threads_per_worker: 2},
        id: thread
      )
    )

    %{pools: [process, thread]}
  end
end
