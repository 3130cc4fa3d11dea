defmodule Snakepit.NativeBuild do
  # The pure half of the native build: which cargo command to run, which file of cargo's
  # report is the NIF, and where the BEAM loads it from. Kept apart from the compiler task
  # below so test/mix/native_compiler_test.exs can check it against cargo output recorded on
  # Linux, macOS and Windows. Defined in mix.exs, not lib/, because Mix needs it before the
  # project compiles (and lib/'s Snakepit.JSON is not compiled yet, hence the decoder here).
  @moduledoc false

  @crate "snakepit_nif"

  # Every file cargo reads to build the NIF (directories are taken whole). The up-to-date
  # check and the hex package both use this list; native/fuzz and target dirs are not in it.
  # snakepit_core's benches are, because its Cargo.toml names them and cargo refuses a
  # manifest whose [[bench]] files are missing.
  @native_sources ~w(
    native/Cargo.toml
    native/Cargo.lock
    native/snakepit_core/Cargo.toml
    native/snakepit_core/build.rs
    native/snakepit_core/build_marc21.rs
    native/snakepit_core/src
    native/snakepit_core/data
    native/snakepit_core/benches
    native/snakepit_nif/Cargo.toml
    native/snakepit_nif/src
  )

  # Cargo profiles (native/Cargo.toml) selectable with SNAKEPIT_NATIVE_PROFILE.
  @profiles ~w(release profiling)

  def native_sources, do: @native_sources

  @doc "Files of `globs`, directories expanded recursively (as hex expands `package: [files: ...]`)."
  def expand_files(globs) do
    globs
    |> Enum.flat_map(&Path.wildcard/1)
    |> Enum.flat_map(fn path ->
      if File.dir?(path), do: Path.wildcard(Path.join(path, "**"), match_dot: true), else: [path]
    end)
    |> Enum.reject(&File.dir?/1)
    |> Enum.uniq()
    |> Enum.sort()
  end

  @doc "Names (without extension) of the libraries the compiler installs, one per kind of build."
  def library_names, do: ["lib#{@crate}", "lib#{@crate}_test"]

  @doc """
  What to build for a Mix env and the OS environment (a map of variables): the cargo
  profile (`SNAKEPIT_NATIVE_PROFILE`), the features (`test-hooks` in the test env, contract
  C1), the installed library's name and the cargo target (`CARGO_BUILD_TARGET`, read by
  cargo itself; recorded so that changing it rebuilds).
  """
  def settings(mix_env, env) do
    profile =
      case Map.get(env, "SNAKEPIT_NATIVE_PROFILE", "") do
        "" ->
          "release"

        profile when profile in @profiles ->
          profile

        other ->
          Mix.raise(
            "SNAKEPIT_NATIVE_PROFILE must be one of #{Enum.join(@profiles, ", ")} (unset means release), got: #{inspect(other)}"
          )
      end

    [release_name, test_name] = library_names()
    test? = mix_env == :test

    %{
      profile: profile,
      features: if(test?, do: ["test-hooks"], else: []),
      library: if(test?, do: test_name, else: release_name),
      target: Map.get(env, "CARGO_BUILD_TARGET", "")
    }
  end

  @doc """
  Removes what the compiler installs in `priv_dir`: every library it names (both kinds of
  build, both extensions, half-copied temp files) and NOTICE; then the directory if empty.
  """
  def remove_outputs(priv_dir) do
    for name <- library_names(), ext <- [".so", ".dll"], suffix <- ["", ".tmp"] do
      File.rm(Path.join(priv_dir, name <> ext <> suffix))
    end

    File.rm(Path.join(priv_dir, "NOTICE"))
    # Left in place if it holds anything else.
    File.rmdir(priv_dir)
    :ok
  end

  @doc """
  Whether the library a build with `settings` installs in `priv_dir` is fresh: the manifest
  (the `{settings, installed_path}` the last build wrote, or nil) has the same settings and
  a library in `priv_dir` (earlier versions installed elsewhere), that file exists, and no
  source is newer than it.
  """
  def fresh?(settings, priv_dir, manifest, newest_source_mtime) do
    with {^settings, installed} <- manifest,
         ^priv_dir <- Path.dirname(installed),
         {:ok, %{mtime: built}} <- File.stat(installed, time: :posix) do
      newest_source_mtime <= built
    else
      _ -> false
    end
  end

  def cargo_args(%{profile: profile, features: features}) do
    [
      "build",
      "--package",
      @crate,
      "--profile",
      profile,
      "--message-format=json-render-diagnostics"
    ] ++
      Enum.flat_map(features, &["--features", &1])
  end

  @doc """
  The NIF library in cargo's JSON report (the stdout of `--message-format=json*`): the
  `.so`, `.dylib` or `.dll` among the filenames of the `compiler-artifact` message of the
  #{@crate} cdylib. Other lines (other crates, build scripts, `build-finished`) are skipped.
  """
  def artifact(cargo_stdout) do
    cargo_stdout
    |> String.split(["\r\n", "\n"], trim: true)
    |> Enum.filter(&String.starts_with?(&1, "{"))
    |> Enum.map(&decode_json!/1)
    |> Enum.filter(&nif_artifact?/1)
    |> Enum.flat_map(& &1["filenames"])
    |> Enum.filter(&(library_extension(&1) != nil))
    |> case do
      [path] ->
        {:ok, path}

      other ->
        {:error,
         "expected one #{@crate} cdylib (.so, .dylib or .dll) in cargo's JSON report, got: #{inspect(other)}"}
    end
  end

  defp nif_artifact?(%{"reason" => "compiler-artifact", "target" => target}),
    do: target["name"] == @crate and "cdylib" in target["kind"]

  defp nif_artifact?(_message), do: false

  @doc """
  Where `artifact` is installed in `priv_dir`: `<library>.so`, or `.dll` on Windows.
  `:erlang.load_nif/2` appends `.dll` on Windows and `.so` everywhere else, macOS included,
  so a `.dylib` is installed under the `.so` name.
  """
  def install_path(artifact, %{library: library}, priv_dir) do
    extension = if library_extension(artifact) == ".dll", do: ".dll", else: ".so"
    Path.join(priv_dir, library <> extension)
  end

  # Path.extname/1 would do on Unix paths; this also reads Windows paths (C:\...\x.dll).
  defp library_extension(path) do
    Enum.find([".so", ".dylib", ".dll"], &String.ends_with?(path, &1))
  end

  # ---------------------------------------------------------------------------------------
  # A small JSON decoder (RFC 8259): objects become maps with string keys, arrays lists.
  # ---------------------------------------------------------------------------------------

  @doc "Decodes one JSON text; raises ArgumentError naming what it found where it failed."
  def decode_json!(text) do
    case value(skip_ws(text)) do
      {value, rest} ->
        case skip_ws(rest) do
          "" -> value
          rest -> invalid!(rest)
        end
    end
  end

  defp value("{" <> rest), do: object(skip_ws(rest), %{})
  defp value("[" <> rest), do: array(skip_ws(rest), [])
  defp value("\"" <> rest), do: string(rest, [])
  defp value("true" <> rest), do: {true, rest}
  defp value("false" <> rest), do: {false, rest}
  defp value("null" <> rest), do: {nil, rest}

  defp value(text) do
    case Regex.run(~r/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/, text) do
      [number | parts] ->
        rest = binary_part(text, byte_size(number), byte_size(text) - byte_size(number))

        if parts == [] do
          {String.to_integer(number), rest}
        else
          {number |> Float.parse() |> elem(0), rest}
        end

      nil ->
        invalid!(text)
    end
  end

  defp object("}" <> rest, map), do: {map, rest}

  defp object("\"" <> rest, map) do
    {key, rest} = string(rest, [])
    {value, rest} = rest |> skip_ws() |> expect(":") |> skip_ws() |> value()
    map = Map.put(map, key, value)

    case skip_ws(rest) do
      "," <> rest -> object(skip_ws(rest), map)
      "}" <> rest -> {map, rest}
      rest -> invalid!(rest)
    end
  end

  defp object(text, _map), do: invalid!(text)

  defp array("]" <> rest, []), do: {[], rest}

  defp array(text, items) do
    {item, rest} = value(text)

    case skip_ws(rest) do
      "," <> rest -> array(skip_ws(rest), [item | items])
      "]" <> rest -> {Enum.reverse([item | items]), rest}
      rest -> invalid!(rest)
    end
  end

  defp string("\"" <> rest, acc), do: {acc |> Enum.reverse() |> IO.iodata_to_binary(), rest}

  defp string("\\u" <> <<high::binary-4, "\\u", low::binary-4, rest::binary>> = text, acc) do
    case {hex!(high), hex!(low)} do
      {h, l} when h in 0xD800..0xDBFF and l in 0xDC00..0xDFFF ->
        string(rest, [<<0x10000 + (h - 0xD800) * 0x400 + (l - 0xDC00)::utf8>> | acc])

      {h, _} ->
        string(binary_part(text, 6, byte_size(text) - 6), [code_point!(h, text) | acc])
    end
  end

  defp string("\\u" <> <<hex::binary-4, rest::binary>> = text, acc),
    do: string(rest, [code_point!(hex!(hex), text) | acc])

  defp string("\\" <> <<escape, rest::binary>> = text, acc) do
    case Map.fetch(
           %{
             ?" => ?",
             ?\\ => ?\\,
             ?/ => ?/,
             ?b => ?\b,
             ?f => ?\f,
             ?n => ?\n,
             ?r => ?\r,
             ?t => ?\t
           },
           escape
         ) do
      {:ok, char} -> string(rest, [char | acc])
      :error -> invalid!(text)
    end
  end

  defp string(<<char::utf8, rest::binary>>, acc) when char >= 0x20,
    do: string(rest, [<<char::utf8>> | acc])

  defp string(text, _acc), do: invalid!(text)

  defp hex!(digits) do
    case Integer.parse(digits, 16) do
      {code, ""} -> code
      _ -> invalid!("\\u" <> digits)
    end
  end

  # A lone surrogate is not a character: refuse it rather than write invalid UTF-8.
  defp code_point!(code, text) when code in 0xD800..0xDFFF, do: invalid!(text)
  defp code_point!(code, _text), do: <<code::utf8>>

  defp expect(text, token) do
    if String.starts_with?(text, token),
      do: binary_part(text, byte_size(token), byte_size(text) - byte_size(token)),
      else: invalid!(text)
  end

  defp skip_ws(<<c, rest::binary>>) when c in [?\s, ?\t, ?\n, ?\r], do: skip_ws(rest)
  defp skip_ws(text), do: text

  defp invalid!(""), do: raise(ArgumentError, "invalid JSON: unexpected end of input")

  defp invalid!(text),
    do: raise(ArgumentError, "invalid JSON at: #{inspect(String.slice(text, 0, 24))}")
end

defmodule Mix.Tasks.Compile.SnakepitNative do
  # Builds the NIF with cargo and installs it in the app's priv dir in _build
  # (_build/ENV/lib/snakepit/priv/native/, what :code.priv_dir(:snakepit) points at).
  # Defined here, not in lib/, because Mix must find it before the project compiles.
  # docs/building.md explains it and its settings (SNAKEPIT_NATIVE_PROFILE, CARGO_TARGET_DIR,
  # CARGO_BUILD_TARGET).
  @moduledoc false
  use Mix.Task.Compiler

  alias Snakepit.NativeBuild

  @native_dir "native"
  # Earlier versions installed into the source tree's priv/native/. While a source priv/
  # exists Mix links every env's _build priv to it, so every env's library (the test build's
  # too) would end up in every release: its leftovers are removed (move_off_source_priv!/0).
  @source_priv "priv"

  @impl true
  def run(_args) do
    settings = NativeBuild.settings(Mix.env(), System.get_env())

    if up_to_date?(settings) do
      {:noop, []}
    else
      build!(settings)
    end
  end

  # Per artifact: the dev/prod and test builds install different libraries and keep their
  # own manifests (_build/ENV), so building one never makes the other look fresh or stale.
  # Rebuilt when the settings changed (profile, features, CARGO_BUILD_TARGET), the library
  # is missing, or a source is newer than it (NativeBuild.fresh?/4).
  defp up_to_date?(settings) do
    NativeBuild.fresh?(settings, priv_dir(), read_manifest(), newest_source_mtime())
  end

  # A missing manifest, or a damaged one, means "build".
  defp read_manifest do
    case File.read(manifest()) do
      {:ok, binary} -> :erlang.binary_to_term(binary)
      {:error, _} -> nil
    end
  rescue
    ArgumentError -> nil
  end

  defp newest_source_mtime do
    NativeBuild.native_sources()
    |> NativeBuild.expand_files()
    |> Enum.map(&File.stat!(&1, time: :posix).mtime)
    |> Enum.max(fn -> 0 end)
  end

  defp build!(settings) do
    cargo = System.find_executable("cargo")

    unless cargo do
      Mix.raise("""
      snakepit needs the Rust toolchain to build its native library, and `cargo` is not on PATH.
      Install it with rustup (https://rustup.rs), e.g.:

          curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh

      then open a new shell (or `source $HOME/.cargo/env`) and compile again.
      """)
    end

    args = NativeBuild.cargo_args(settings)
    Mix.shell().info("Compiling native library (cargo #{Enum.join(args, " ")})")

    # stdout carries cargo's JSON report; progress and rendered diagnostics go to stderr,
    # which is left on the terminal.
    {report, status} = System.cmd(cargo, args, cd: @native_dir)

    if status != 0,
      do: Mix.raise("cargo build failed (errors above), exit status: #{inspect(status)}")

    artifact =
      case NativeBuild.artifact(report) do
        {:ok, artifact} -> artifact
        {:error, message} -> Mix.raise(message)
      end

    move_off_source_priv!()
    installed = NativeBuild.install_path(artifact, settings, priv_dir())
    File.mkdir_p!(priv_dir())
    # Copy to a temp name and rename, so a running VM never sees a half-written library.
    tmp = installed <> ".tmp"
    File.cp!(artifact, tmp)
    File.rename!(tmp, installed)
    # The library carries data under the licences in NOTICE (pymarc's MARC-8 tables, BSD-2),
    # which asks binary distributions to reproduce them: a host release gets them this way.
    File.cp!("NOTICE", Path.join(priv_dir(), "NOTICE"))
    File.mkdir_p!(Path.dirname(manifest()))
    File.write!(manifest(), :erlang.term_to_binary({settings, installed}))
    {:ok, []}
  end

  # Per env, so a release copies its own env's library only.
  defp priv_dir, do: Path.join(Mix.Project.app_path(), "priv/native")

  defp move_off_source_priv! do
    NativeBuild.remove_outputs(Path.join(@source_priv, "native"))
    File.rmdir(@source_priv)
    app_priv = Path.dirname(priv_dir())
    if match?({:ok, %{type: :symlink}}, File.lstat(app_priv)), do: File.rm!(app_priv)
  end

  @impl true
  def manifests, do: [manifest()]

  defp manifest, do: Path.join(Mix.Project.manifest_path(), "compile.snakepit_native")

  # `mix clean` then removes _build/*/lib/snakepit, every env's library with it. Cargo's
  # target dir is a cache and stays: `cargo clean` or `make clean` (docs/building.md).
  @impl true
  def clean do
    NativeBuild.remove_outputs(priv_dir())
    NativeBuild.remove_outputs(Path.join(@source_priv, "native"))
    File.rm(manifest())
    :ok
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
      package: package(),
      docs: [main: "readme", extras: ["README.md" | Path.wildcard("docs/*.md")]]
    ]
  end

  def application do
    [
      # :inets (OTP's :httpd) serves the optional metrics endpoint (Snakepit.Metrics); optional
      # because Debian ships it apart (erlang-inets) and nothing else needs it.
      extra_applications: [:logger, inets: :optional],
      mod: {Snakepit.Application, []},
      # The command module of a pool that names none (Snakepit.Pool.Commands).
      env: [commands: Snakepit.Marc.Commands]
    ]
  end

  # The NIF is built on the host by the compiler above (into _build, so there is no priv/ to
  # ship); the Rust sources are (NativeBuild.native_sources/0: no target dir, no fuzz crate).
  # test/mix/package_test.exs checks the expanded list.
  defp package do
    [
      files:
        ~w(lib mix.exs .formatter.exs README.md LICENSE NOTICE CHANGELOG.md docs) ++
          Snakepit.NativeBuild.native_sources(),
      licenses: ["Apache-2.0"],
      links: %{
        "Rust toolchain (needed to build)" => "https://rustup.rs",
        "MARC 21 formats" => "https://www.loc.gov/marc/"
      }
    ]
  end

  defp elixirc_paths(:test), do: ["lib", "test/support"]
  defp elixirc_paths(_), do: ["lib"]
end
