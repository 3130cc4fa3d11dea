defmodule Snakepit.PackageTest do
  # The hex package's file list, expanded from `package: [files: ...]` the way `mix hex.build`
  # expands it (directories whole), must build the NIF on a host: Rust sources and Cargo files
  # in, cargo's target dir and the locally built library out.
  use ExUnit.Case, async: true

  alias Snakepit.NativeBuild

  @root Path.expand("../..", __DIR__)

  defp package_files do
    File.cd!(@root, fn -> NativeBuild.expand_files(Mix.Project.config()[:package][:files]) end)
  end

  test "metadata: Apache-2.0, links, and the licence files exist" do
    package = Mix.Project.config()[:package]
    assert package[:licenses] == ["Apache-2.0"]
    assert map_size(package[:links]) > 0

    assert File.read!(Path.join(@root, "LICENSE")) =~
             "Apache License\n                           Version 2.0"

    assert File.read!(Path.join(@root, "NOTICE")) =~ "BSD 2-Clause"
  end

  test "includes every Rust source, Cargo file and table the NIF build reads" do
    files = package_files()

    needed =
      File.cd!(@root, fn ->
        ~w(native/snakepit_nif/src/**/*.rs native/snakepit_core/src/**/*.rs
           native/snakepit_core/benches/*.rs native/snakepit_core/data/**/*.tsv)
        |> Enum.flat_map(&Path.wildcard/1)
      end)

    assert length(needed) > 20, "globs found too few sources, got: #{inspect(needed)}"

    for file <-
          needed ++
            ~w(native/Cargo.toml native/Cargo.lock native/snakepit_core/Cargo.toml
               native/snakepit_core/build.rs native/snakepit_core/build_marc21.rs
               native/snakepit_nif/Cargo.toml mix.exs
               lib/snakepit/native.ex README.md LICENSE NOTICE CHANGELOG.md) do
      assert file in files, "#{file} is not in the package, got: #{inspect(files)}"
    end
  end

  test "excludes build outputs, the fuzz crate and the tests" do
    for file <- package_files() do
      refute String.starts_with?(file, ~w(native/target/ priv/ _build/ native/fuzz/ test/)),
             "the package must not carry #{file}"

      refute file =~ ~r{(^|/)target/}, "the package must not carry #{file}"
    end
  end

  # cargo rejects a workspace whose members or [[bench]] files are missing when it resolves
  # the build (`cargo metadata` does not look at targets; `cargo fetch` does, and offline it
  # only reads the crate cache that setup.sh filled): a copy of the package's native files
  # must be a workspace cargo can build from.
  @tag timeout: 120_000
  test "cargo resolves the workspace from the package's files alone" do
    dir = Path.join(System.tmp_dir!(), "snakepit_pkg_#{System.unique_integer([:positive])}")
    on_exit(fn -> File.rm_rf!(dir) end)

    for file <- package_files(), String.starts_with?(file, "native/") do
      File.mkdir_p!(Path.join(dir, Path.dirname(file)))
      File.cp!(Path.join(@root, file), Path.join(dir, file))
    end

    {output, status} =
      System.cmd(
        "cargo",
        ~w(fetch --offline --manifest-path native/Cargo.toml),
        cd: dir,
        stderr_to_stdout: true
      )

    assert status == 0, "cargo cannot read the package's workspace, got: #{output}"
  end
end
