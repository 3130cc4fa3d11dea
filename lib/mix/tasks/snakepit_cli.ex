defmodule Snakepit.MixCLI do
  # One way to read a Mix task's arguments and one way to report bad ones, shared by every
  # Snakepit task: `--help`/`-h` print the task's docs, and each error reads
  # "mix TASK: what was wrong, got: VALUE" followed, for a bad command line, by the usage line.
  @moduledoc false

  # A range ending this high reads as "no upper bound".
  @unbounded 1_000_000_000

  @enforce_keys [:task, :usage, :switches]
  defstruct [:task, :usage, :switches, aliases: []]

  @type t :: %__MODULE__{task: module, usage: String.t(), switches: keyword, aliases: keyword}

  @doc "A task's command line: its module, its usage line and its OptionParser switches."
  def new(task, usage, switches, aliases \\ []),
    do: %__MODULE__{task: task, usage: usage, switches: switches, aliases: aliases}

  @doc """
  Parses `argv`. Returns `:help` (after printing the task's docs) when `--help` or `-h` is
  given, else `{opts, args}` with as many positional `args` as `arity` allows (an integer
  or a range). Raises `Mix.Error` on an unknown or malformed flag or a wrong argument count.
  """
  @spec parse!(t, [String.t()], non_neg_integer | Range.t()) :: :help | {keyword, [String.t()]}
  def parse!(%__MODULE__{} = cli, argv, arity \\ 0) do
    {opts, args, invalid} =
      OptionParser.parse(argv,
        strict: [{:help, :boolean} | cli.switches],
        aliases: [{:h, :help} | cli.aliases]
      )

    cond do
      opts[:help] -> help(cli)
      invalid != [] -> usage_error!(cli, invalid_flag(cli, hd(invalid)))
      not arity_ok?(length(args), arity) -> usage_error!(cli, arity_message(args, arity))
      true -> {Keyword.delete(opts, :help), args}
    end
  end

  @doc "Raises `Mix.Error` for a bad command line: the message, then the usage line."
  @spec usage_error!(t, String.t()) :: no_return
  def usage_error!(%__MODULE__{} = cli, message),
    do: Mix.raise(prefix(cli) <> message <> "\n" <> cli.usage <> "\n" <> more(cli))

  @doc "Raises `Mix.Error` for a failure once the command line was read."
  @spec error!(t, String.t()) :: no_return
  def error!(%__MODULE__{} = cli, message), do: Mix.raise(prefix(cli) <> message)

  @doc "`value` (a string) as one of the atoms named in `valid`, else a usage error."
  def one_of!(cli, flag, value, valid) do
    if value in valid,
      do: String.to_atom(value),
      else:
        usage_error!(
          cli,
          "--#{flag} must be one of #{Enum.join(valid, ", ")}, got: #{inspect(value)}"
        )
  end

  @doc "`value` if it lies in `range`, else a usage error."
  def in_range!(cli, flag, value, first..last//_ = range) do
    cond do
      value in range ->
        value

      last >= @unbounded and first == 1 ->
        usage_error!(cli, "--#{flag} must be a positive integer, got: #{value}")

      last >= @unbounded ->
        usage_error!(cli, "--#{flag} must be at least #{first}, got: #{value}")

      true ->
        usage_error!(cli, "--#{flag} must be in #{first}..#{last}, got: #{value}")
    end
  end

  @doc "The task's name as typed after `mix`."
  def name(%__MODULE__{task: task}), do: Mix.Task.task_name(task)

  defp help(cli) do
    docs =
      case Mix.Task.moduledoc(cli.task) do
        doc when is_binary(doc) -> doc
        _ -> Mix.Task.shortdoc(cli.task) || ""
      end

    Mix.shell().info("mix #{name(cli)}\n\n" <> String.trim_trailing(docs))
    :help
  end

  defp invalid_flag(cli, {flag, value}) do
    key = flag |> String.trim_leading("-") |> String.replace("-", "_")
    known = Enum.find(cli.switches, fn {k, _type} -> Atom.to_string(k) == key end)

    case {known, value} do
      {nil, _} -> "unknown option #{flag}; valid options: #{valid_flags(cli)}"
      {{_, type}, nil} -> "#{flag} needs #{article(type)}"
      {{_, type}, value} -> "#{flag} takes #{article(type)}, got: #{inspect(value)}"
    end
  end

  defp article(:integer), do: "an integer"
  defp article(:float), do: "a number"
  defp article(:boolean), do: "no value"
  defp article(_string), do: "a value"

  defp valid_flags(cli) do
    cli.switches
    |> Enum.flat_map(fn
      {key, :boolean} -> ["--#{flag(key)}", "--no-#{flag(key)}"]
      {key, _type} -> ["--#{flag(key)}"]
    end)
    |> Kernel.++(["--help"])
    |> Enum.join(", ")
  end

  defp flag(key), do: key |> Atom.to_string() |> String.replace("_", "-")

  defp arity_ok?(n, arity) when is_integer(arity), do: n == arity
  defp arity_ok?(n, range), do: n in range

  defp arity_message(args, 0), do: "unexpected argument #{inspect(hd(args))}"

  defp arity_message(args, arity) do
    expected = if is_integer(arity), do: "#{arity}", else: "#{arity.first}..#{arity.last}"
    "expected #{expected} arguments, got #{length(args)}: #{inspect(args)}"
  end

  defp prefix(cli), do: "mix #{name(cli)}: "
  defp more(cli), do: "mix #{name(cli)} --help shows every option."
end
