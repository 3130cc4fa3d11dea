defmodule Snakepit.Config.NativeThreads do
  # The OS priority of the native threads Snakepit starts (`config :snakepit,
  # native_thread_nice: n`), in the one options schema. They share the cores with the BEAM's
  # schedulers; with a positive nice value the kernel runs a scheduler first whenever both
  # want a core, so native work never makes a normal scheduler's timers late on a busy
  # machine, and costs nothing when cores are free (docs/configuration.md). Linux only:
  # elsewhere the value is accepted and has no effect.
  @moduledoc false

  alias Snakepit.Options.Schema

  @schema [
    native_thread_nice: [
      type: {:int_range, 0, 19},
      default: 10,
      allowed: "an integer in 0..19",
      doc:
        "Nice value of the native threads Snakepit starts (`:thread` pool threads, stream " <>
          "readers and parsers, the engine's parallel work). 0 runs them like the VM's " <>
          "schedulers; higher values let the schedulers go first when both want a core."
    ]
  ]

  @doc "The option schema."
  def schema, do: @schema

  @doc """
  The configured value (the default when absent), validated: raises `ArgumentError` naming
  the key, so a bad config stops the application.
  """
  def configured!(env \\ Application.get_all_env(:snakepit)) do
    case Schema.validate(Keyword.take(env, [:native_thread_nice]), @schema) do
      {:ok, %{native_thread_nice: nice}} -> nice
      {:error, message} -> raise ArgumentError, "config :snakepit: " <> message
    end
  end

  @doc "Applies the configured value to the threads started from now on."
  def apply!(env \\ Application.get_all_env(:snakepit)) do
    Snakepit.Native.native_thread_nice(configured!(env))
    :ok
  end
end
