defmodule Snakepit.Test.MixTask do
  @moduledoc false
  # Runs a Mix task's run/1 as a user would, capturing both output streams:
  # {:ok | {:error, Mix.Error message}, stdout, stderr}. Capturing :stderr replaces the
  # VM's one :standard_error, so what any concurrently running test writes there lands in
  # the capture: modules that use this are `async: false` (test_support_test checks).

  import ExUnit.CaptureIO

  def run(task, args) do
    parent = self()

    stderr =
      capture_io(:stderr, fn ->
        stdout =
          capture_io(fn ->
            result =
              try do
                task.run(args)
                :ok
              rescue
                e in Mix.Error -> {:error, e.message}
              end

            send(parent, {:result, result})
          end)

        send(parent, {:stdout, stdout})
      end)

    result = receive do: ({:result, result} -> result)
    stdout = receive do: ({:stdout, stdout} -> stdout)
    {result, stdout, stderr}
  end
end
