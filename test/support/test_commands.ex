defmodule Snakepit.Test.Commands do
  @moduledoc false
  # The MARC commands plus two test hooks, for pools that name this module as `:commands`:
  #
  #   * `:sleep` - `[ms]` or `[ms, payload]`: holds a slot, and the payload's memory, for `ms`
  #   * `:__panic__` - `[]`: a native panic on `:thread` workers, a raise on `:process` ones
  #   * `:__with_threads__` - `[report_to]`: planned `:local_with_threads` on `:thread`
  #     workers; tells `report_to` `{:with_threads, self(), threads}` and waits for
  #     `:go_on`, then returns `{:ok, length(threads)}` (`{:ok, :no_threads}` on `:process`)
  #
  # On `:thread` workers both run natively, in the NIF's test hooks (Cargo feature
  # `test-hooks`, which test builds enable).
  @behaviour Snakepit.Pool.Commands

  alias Snakepit.Marc.Commands, as: Marc

  @hooks [:sleep, :__panic__]

  @impl true
  def commands, do: Marc.commands() ++ @hooks ++ [:__with_threads__]

  @impl true
  def native_commands, do: Marc.native_commands() ++ @hooks

  @impl true
  def run(:sleep, [ms | payload]) when is_integer(ms) and ms >= 0 and length(payload) <= 1 do
    Process.sleep(ms)
    # Keeps the payload referenced until the sleep ends.
    _ = :erlang.phash2(payload, 1)
    {:ok, ms}
  end

  def run(:__panic__, []), do: raise("panic requested by the :__panic__ test command")
  def run(:__with_threads__, [_report_to]), do: {:ok, :no_threads}
  def run(hook, args) when hook in @hooks, do: invalid(hook, args)
  def run(command, args), do: Marc.run(command, args)

  @impl true
  def native_plan(:sleep, [ms]) when is_integer(ms) and ms >= 0,
    do: {:native, :sleep, ms, &Function.identity/1}

  def native_plan(:sleep, [ms, payload]) when is_integer(ms) and ms >= 0,
    do: {:native, :sleep, {ms, payload}, &Function.identity/1}

  def native_plan(:__panic__, []), do: {:native, :__panic__, nil, &Function.identity/1}
  def native_plan(:__with_threads__, [_report_to]), do: :local_with_threads
  def native_plan(hook, args) when hook in @hooks, do: invalid(hook, args)
  def native_plan(command, args), do: Marc.native_plan(command, args)

  @impl true
  def run_with_threads(:__with_threads__, [report_to], threads) do
    send(report_to, {:with_threads, self(), threads})

    receive do
      :go_on -> {:ok, length(threads)}
    end
  end

  def run_with_threads(command, args, threads), do: Marc.run_with_threads(command, args, threads)

  @impl true
  defdelegate error(command, args, kind, reason, stacktrace), to: Marc

  @impl true
  defdelegate finish(command, args, result), to: Marc

  defp invalid(hook, args),
    do: {:error, Snakepit.Error.new(:invalid_arguments, command: hook, args: args)}
end
