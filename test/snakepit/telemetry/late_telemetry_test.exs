defmodule Snakepit.Telemetry.LateTelemetryTest do
  # Loads a stand-in `:telemetry` module into the VM: global, so run alone.
  use ExUnit.Case, async: false

  alias Snakepit.Telemetry

  setup do
    # This suite runs without :telemetry, so the built-in dispatcher was chosen at start.
    refute :erlang.module_loaded(:telemetry)

    on_exit(fn ->
      :code.purge(:telemetry)
      :code.delete(:telemetry)
      :code.purge(:telemetry)
    end)

    %{event: [:snakepit_test, :"late_#{System.unique_integer([:positive])}"]}
  end

  test "a handler attached before :telemetry loads keeps receiving events after", %{event: event} do
    test = self()
    id = make_ref()
    :ok = Telemetry.attach(id, event, fn e, m, _md, _c -> send(test, {:builtin, e, m}) end, nil)

    load_fake_telemetry(test)

    Telemetry.execute(event, %{n: 1}, %{})
    assert_received {:builtin, ^event, %{n: 1}}
    # Handlers attached to :telemetry itself get the event as well.
    assert_received {:fake_telemetry, :execute, ^event}

    # Still the built-in dispatcher for attaching, so nothing is delivered twice.
    later = make_ref()
    :ok = Telemetry.attach(later, event, fn e, _m, _md, _c -> send(test, {:later, e}) end, nil)
    refute_received {:fake_telemetry, :attach_many, _}
    Telemetry.execute(event, %{n: 2}, %{})
    assert_received {:builtin, ^event, %{n: 2}}
    assert_received {:later, ^event}
    refute_received {:builtin, ^event, %{n: 2}}

    :ok = Telemetry.detach(id)
    :ok = Telemetry.detach(later)
  end

  # A stand-in for the :telemetry application's module, reporting calls to `test`.
  defp load_fake_telemetry(test) do
    :persistent_term.put({__MODULE__, :sink}, test)

    Module.create(
      :telemetry,
      quote do
        def execute(event, _measurements, _metadata) do
          send(
            :persistent_term.get({unquote(__MODULE__), :sink}),
            {:fake_telemetry, :execute, event}
          )

          :ok
        end

        def attach_many(_id, events, _fun, _config) do
          send(
            :persistent_term.get({unquote(__MODULE__), :sink}),
            {:fake_telemetry, :attach_many, events}
          )

          :ok
        end

        def detach(_id), do: :ok
        def span(_prefix, _meta, fun), do: elem(fun.(), 0)
      end,
      Macro.Env.location(__ENV__)
    )

    assert :erlang.module_loaded(:telemetry)
  end
end
