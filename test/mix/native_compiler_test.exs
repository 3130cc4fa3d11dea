defmodule Snakepit.NativeCompilerTest do
  # The pure half of the native build (Snakepit.NativeBuild, in mix.exs): cargo's JSON report
  # -> the built NIF -> where the BEAM loads it from, checked against cargo output recorded
  # on three OSes (test/mix/fixtures/cargo_*.jsonl). The Linux lines are cargo 1.95's own
  # output of `cargo build --release -p snakepit_nif --message-format=json-render-diagnostics`
  # with the paths rewritten; the macOS (CARGO_BUILD_TARGET=aarch64-apple-darwin plus a
  # CARGO_TARGET_DIR) and Windows (MSVC) ones are the same messages with the file names and
  # layout cargo uses there: proc-macros in the host dir, `.dylib`, `.dll` with its import
  # library and `.pdb`, backslashes escaped in JSON.
  use ExUnit.Case, async: true

  alias Snakepit.NativeBuild

  @fixtures Path.expand("fixtures", __DIR__)
  @dev NativeBuild.settings(:dev, %{})
  @test NativeBuild.settings(:test, %{})
  @priv "/app/_build/dev/lib/snakepit/priv/native"

  defp report(name), do: File.read!(Path.join(@fixtures, name))

  describe "artifact/1 and install_path/3 on recorded cargo output" do
    test "Linux: the cdylib's .so, installed under the same name" do
      assert {:ok, artifact} = NativeBuild.artifact(report("cargo_linux_x86_64.jsonl"))
      assert artifact == "/home/ci/snakepit/native/target/release/libsnakepit_nif.so"
      assert NativeBuild.install_path(artifact, @dev, @priv) == "#{@priv}/libsnakepit_nif.so"

      assert NativeBuild.install_path(artifact, @test, @priv) ==
               "#{@priv}/libsnakepit_nif_test.so"
    end

    test "macOS with CARGO_TARGET_DIR and CARGO_BUILD_TARGET: the .dylib, installed as .so" do
      assert {:ok, artifact} = NativeBuild.artifact(report("cargo_macos_aarch64.jsonl"))

      assert artifact ==
               "/Users/ci/cache/snakepit-target/aarch64-apple-darwin/release/libsnakepit_nif.dylib"

      assert NativeBuild.install_path(artifact, @dev, @priv) == "#{@priv}/libsnakepit_nif.so"
    end

    test "Windows: the .dll (not its .dll.lib or .pdb), installed as .dll" do
      assert {:ok, artifact} = NativeBuild.artifact(report("cargo_windows_x86_64_msvc.jsonl"))
      assert artifact == ~S"C:\Users\ci\snakepit\native\target\release\snakepit_nif.dll"
      assert NativeBuild.install_path(artifact, @dev, @priv) == "#{@priv}/libsnakepit_nif.dll"

      assert NativeBuild.install_path(artifact, @test, @priv) ==
               "#{@priv}/libsnakepit_nif_test.dll"
    end

    test "CRLF line ends and lines that are not JSON are skipped" do
      crlf =
        "warning: a wrapper wrote this\r\n" <>
          String.replace(report("cargo_windows_x86_64_msvc.jsonl"), "\n", "\r\n")

      assert {:ok, ~S"C:\Users\ci\snakepit\native\target\release\snakepit_nif.dll"} =
               NativeBuild.artifact(crlf)
    end

    test "a report without the NIF (say, a proc-macro of another crate only) is an error" do
      proc_macro_only =
        report("cargo_linux_x86_64.jsonl")
        |> String.split("\n")
        |> Enum.reject(&String.contains?(&1, ~s("name":"snakepit_nif")))
        |> Enum.join("\n")

      assert {:error, message} = NativeBuild.artifact(proc_macro_only)
      assert message =~ "expected one snakepit_nif cdylib"
      assert message =~ "got: []"
    end
  end

  describe "settings/2 and cargo_args/1" do
    test "dev and prod build the release profile without features, as libsnakepit_nif" do
      for env <- [:dev, :prod] do
        settings = NativeBuild.settings(env, %{})
        assert %{profile: "release", features: [], library: "libsnakepit_nif"} = settings

        assert NativeBuild.cargo_args(settings) ==
                 ~w(build --package snakepit_nif --profile release --message-format=json-render-diagnostics)
      end
    end

    test "the test env adds the test-hooks feature and installs libsnakepit_nif_test (C1)" do
      assert %{features: ["test-hooks"], library: "libsnakepit_nif_test"} = @test
      assert ["--features", "test-hooks"] = Enum.take(NativeBuild.cargo_args(@test), -2)
    end

    test "SNAKEPIT_NATIVE_PROFILE=profiling selects the profile with symbols" do
      settings = NativeBuild.settings(:prod, %{"SNAKEPIT_NATIVE_PROFILE" => "profiling"})
      assert "profiling" in NativeBuild.cargo_args(settings)
      assert NativeBuild.settings(:prod, %{"SNAKEPIT_NATIVE_PROFILE" => ""}).profile == "release"
    end

    test "an unknown profile is refused, naming the value" do
      message =
        ~s[SNAKEPIT_NATIVE_PROFILE must be one of release, profiling (unset means release), got: "debug"]

      assert_raise Mix.Error, message, fn ->
        NativeBuild.settings(:dev, %{"SNAKEPIT_NATIVE_PROFILE" => "debug"})
      end
    end

    test "CARGO_BUILD_TARGET is part of the settings, so changing it rebuilds" do
      cross = NativeBuild.settings(:dev, %{"CARGO_BUILD_TARGET" => "aarch64-apple-darwin"})
      assert cross.target == "aarch64-apple-darwin"
      refute cross == @dev
    end
  end

  describe "fresh?/4, per artifact" do
    setup do
      dir = Path.join(System.tmp_dir!(), "snakepit_fresh_#{System.unique_integer([:positive])}")
      File.mkdir_p!(dir)
      on_exit(fn -> File.rm_rf!(dir) end)
      library = Path.join(dir, "libsnakepit_nif.so")
      File.write!(library, "")
      File.touch!(library, 1_000)
      %{dir: dir, library: library}
    end

    test "fresh when the same settings built it and no source is newer", c do
      assert NativeBuild.fresh?(@dev, c.dir, {@dev, c.library}, 1_000)
    end

    test "stale when a source is newer than the library", c do
      refute NativeBuild.fresh?(@dev, c.dir, {@dev, c.library}, 1_001)
    end

    test "the dev build's manifest never makes the test build fresh", c do
      refute NativeBuild.fresh?(@test, c.dir, {@dev, c.library}, 0)
    end

    test "stale when the library is not where it is installed now (an earlier version)", c do
      refute NativeBuild.fresh?(@dev, Path.join(c.dir, "native"), {@dev, c.library}, 0)
    end

    test "stale without a manifest or without the installed library", c do
      refute NativeBuild.fresh?(@dev, c.dir, nil, 0)
      File.rm!(c.library)
      refute NativeBuild.fresh?(@dev, c.dir, {@dev, c.library}, 0)
    end
  end

  test "remove_outputs/1 removes what the compiler installed, and nothing else" do
    dir = Path.join(System.tmp_dir!(), "snakepit_clean_#{System.unique_integer([:positive])}")
    on_exit(fn -> File.rm_rf!(dir) end)
    File.mkdir_p!(dir)

    ours =
      ~w(libsnakepit_nif.so libsnakepit_nif_test.so libsnakepit_nif.dll libsnakepit_nif.so.tmp NOTICE)

    for name <- ["keep.txt" | ours], do: File.write!(Path.join(dir, name), "")

    NativeBuild.remove_outputs(dir)
    assert File.ls!(dir) == ["keep.txt"]

    File.rm!(Path.join(dir, "keep.txt"))
    NativeBuild.remove_outputs(dir)
    refute File.exists?(dir)
  end

  describe "decode_json!/1" do
    test "objects, arrays, literals and numbers" do
      assert NativeBuild.decode_json!(~s( {"a": [1, -2, 3.5, 1e3, -0.25E-2], "b": {}, "c": [],
               "d": [true, false, null]} )) ==
               %{
                 "a" => [1, -2, 3.5, 1000.0, -0.0025],
                 "b" => %{},
                 "c" => [],
                 "d" => [true, false, nil]
               }
    end

    test "string escapes, including \\u and surrogate pairs" do
      assert NativeBuild.decode_json!(
               ~S("C:\\x\\y \"q\" \/ \b\f\n\r\t \u00e9\u0041 \ud83d\ude00 Řehůřek")
             ) ==
               "C:\\x\\y \"q\" / \b\f\n\r\t éA 😀 Řehůřek"
    end

    test "invalid text raises, saying where" do
      for {text, where} <- [
            {~s({"a" 1}), ~s(at: "1}")},
            {~s([1, 2), "unexpected end of input"},
            {~s({"a": 1} x), ~s(at: "x")},
            {~S("\ud800 lone"), ~S(at: "\\ud800 lone\"")},
            {~S("\q"), ~S(at: "\\q\"")},
            {"\"tab\tinside\"", ~s(at: "\\tinside\\"")},
            {"nul", ~s(at: "nul")}
          ] do
        error = assert_raise ArgumentError, fn -> NativeBuild.decode_json!(text) end
        assert error.message =~ where, "#{inspect(text)}: #{error.message}"
      end
    end

    test "every recorded cargo line decodes to a message with a reason" do
      for name <- File.ls!(@fixtures), line <- String.split(report(name), "\n", trim: true) do
        assert %{"reason" => reason} = NativeBuild.decode_json!(line)
        assert reason in ~w(compiler-artifact build-script-executed build-finished)
      end
    end
  end
end
