defmodule Mix.Tasks.Snakepit.HelpTest do
  # Every Mix task of the project, present and future: --help and -h, and one error format.
  use ExUnit.Case, async: true

  import ExUnit.CaptureIO

  {:ok, modules} = :application.get_key(:snakepit, :modules)
  @tasks Enum.filter(modules, &(Mix.Task.task?(&1) and &1 != Mix.Tasks.Compile.SnakepitNative))

  test "the project's tasks are found" do
    assert Mix.Tasks.Snakepit.Convert in @tasks
    assert Mix.Tasks.Diagnose.Scaling in @tasks
    assert Mix.Tasks.Snakepit.ProfileInspector in @tasks
  end

  for task <- @tasks, flag <- ["--help", "-h"] do
    @task task
    @flag flag
    test "mix #{Mix.Task.task_name(task)} #{flag} prints the task's docs and does nothing else" do
      name = Mix.Task.task_name(@task)
      out = capture_io(fn -> assert @task.run([@flag]) == :ok end)
      assert out =~ "mix #{name}\n\n"
      assert out =~ String.slice(Mix.Task.moduledoc(@task), 0, 60)
      assert out =~ "## Options"
      # With other arguments, even bad ones, help still wins.
      assert capture_io(fn -> @task.run(["--bogus", "x", @flag]) end) == out
    end
  end

  for task <- @tasks do
    @task task
    test "mix #{Mix.Task.task_name(task)}: flag errors in the one format" do
      name = Mix.Task.task_name(@task)

      for {args, message} <- [
            {["--bogus"], "unknown option --bogus; valid options: "},
            {["--bogus=1", "stray"], "unknown option --bogus; valid options: "}
          ] do
        error = assert_raise Mix.Error, fn -> @task.run(args) end
        assert String.starts_with?(error.message, "mix #{name}: #{message}"), error.message
        assert error.message =~ "--help"
        assert error.message =~ "\nusage: mix #{name}"
        assert error.message =~ "\nmix #{name} --help shows every option."
      end
    end
  end
end
