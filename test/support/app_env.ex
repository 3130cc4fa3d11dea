defmodule Snakepit.Test.AppEnv do
  @moduledoc false
  # The :snakepit application's env as a host sees it: the defaults of its .app file (such as
  # `:commands`), overridden by what a config file sets.

  @doc "`env` on top of the .app file's defaults."
  def with_defaults(env) do
    {:ok, [{:application, :snakepit, spec}]} =
      :file.consult(Application.app_dir(:snakepit, "ebin/snakepit.app"))

    Keyword.merge(Keyword.get(spec, :env, []), env)
  end
end
