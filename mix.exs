defmodule Mix.Tasks.Compile.SnakepitNative do
  # Defined here, not in lib/, because Mix must find it before the project compiles.
  @moduledoc false
  use Mix.Task.Compiler

  @native_dir "native"
  @crate "snakepit_nif"

  @impl true
  def run(_args) do
    # Test builds carry the test hooks (Cargo feature test-hooks) under their own name.
    name = if Mix.env() == :test, do: "lib#{@crate}_test.so", else: "lib#{@crate}.so"
    target = Path.join(["priv", "native", name])

    if up_to_date?(target) do
      {:noop, []}
    else
      build!(target)
    end
  end

  defp up_to_date?(target) do
    case File.stat(target, time: :posix) do
      {:ok, %{mtime: built}} -> newest_source_mtime() <= built
      {:error, _} -> false
    end
  end

  defp newest_source_mtime do
    Path.wildcard(Path.join(@native_dir, "**/{*.rs,Cargo.toml,Cargo.lock,*.tsv,*.txt}"))
    |> Enum.reject(&String.contains?(&1, "/target/"))
    |> Enum.map(fn path -> File.stat!(path, time: :posix).mtime end)
    |> Enum.max(fn -> 0 end)
  end

  defp features, do: if(Mix.env() == :test, do: ["--features", "test-hooks"], else: [])

  defp build!(target) do
    cargo = System.find_executable("cargo")

    unless cargo do
      Mix.raise("""
      snakepit needs the Rust toolchain to build its native library, and `cargo` is not on PATH.
      Install it with rustup (https://rustup.rs), e.g.:

          curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh

      then open a new shell (or `source $HOME/.cargo/env`) and compile again.
      """)
    end

    Mix.shell().info("Compiling native library #{@crate} (cargo build --release)")

    {_, status} =
      System.cmd(cargo, ["build", "--release", "--package", @crate] ++ features(),
        cd: @native_dir,
        into: IO.stream(:stdio, :line),
        stderr_to_stdout: true
      )

    if status != 0, do: Mix.raise("cargo build failed with exit status #{status}")

    built = Path.join([@native_dir, "target", "release", "lib#{@crate}.so"])
    File.mkdir_p!(Path.dirname(target))
    # Copy to a temp name and rename, so a running VM never sees a half-written library.
    tmp = target <> ".tmp"
    File.cp!(built, tmp)
    File.rename!(tmp, target)
    {:ok, []}
  end
end

defmodule Snakepit.MixProject do
  use Mix.Project

  @version "0.1.0"

  def project do
    [
      app: :snakepit,
      version: @version,
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      compilers: [:snakepit_native | Mix.compilers()],
      deps: [],
      elixirc_paths: elixirc_paths(Mix.env()),
      description: "MARC 21 / ISO 2709 records at native speed, through supervised worker pools",
      docs: [main: "readme", extras: ["README.md" | Path.wildcard("docs/*.md")]]
    ]
  end

  def application do
    [
      extra_applications: [:logger],
      mod: {Snakepit.Application, []}
    ]
  end

  defp elixirc_paths(:test), do: ["lib", "test/support"]
  defp elixirc_paths(_), do: ["lib"]
end
