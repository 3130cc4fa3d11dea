defmodule Snakepit.Marc.Spec do
  @moduledoc """
  Extraction specs in the syntax of traject's `extract_marc` (and SolrMarc's), compiled
  once and run natively: only the values asked for ever become terms.

      iex> spec = Snakepit.Marc.Spec.compile!(title: "245a", isbn: "020a", lang: "008[35-37]")
      iex> [record | _] = Snakepit.Marc.parse!(File.read!("../shared/corpus/formats/pymarc_test.dat"))
      iex> Snakepit.Marc.Spec.extract(record, spec)
      %{isbn: ["0471383147 (paper/cd-rom : alk. paper)"], lang: ["eng"], title: ["ActivePerl with ASP and ADO /"]}

  A spec string is one or more alternatives separated by `:`, each one of:

    * `245abc`: a tag and subfield codes; no codes means every subfield;
    * `245|1*|a`: indicator filters between bars, `*` for any, a space for blank;
    * `008[35-37]`, `007[5]`: bytes of a control field, inclusive;
    * `LDR`, `LDR[6-7]`: the leader (an extension of traject's syntax);
    * `6XX`, `65X`: an `X` in a tag matches any character (an extension, as in MARCspec).

  Values come in record field order (the leader first). A spec naming exactly one subfield
  code (`020a`) gives each matching subfield as its own value; otherwise the selected
  subfields of one field are joined by `:separator` (`020aa` forces joining). An 880 whose
  `$6` begins `245` counts as a 245 (`:alternate_script`). See `docs/extraction.md` for the
  grammar and every rule.

  ## Options

  Given to `compile!/2` for every output, or per output as `name: {spec, options}`:

  #{Snakepit.Options.Schema.docs(Snakepit.Marc.Spec.Options.schema())}
  """

  alias Snakepit.Marc.{Encoder, LazyRecord, Record}
  alias Snakepit.Marc.Spec.Options
  alias Snakepit.Options.Schema
  alias Snakepit.Native

  # `ref` is the native compiled form, valid on `node` only; elsewhere (a spec sent to
  # another node) it is compiled again from `outputs`.
  @enforce_keys [:names, :outputs, :ref, :node]
  defstruct [:names, :outputs, :ref, :node]

  @typedoc """
  A compiled extraction; opaque, reusable for a whole job, across processes and across
  nodes (where it is compiled again on first use).
  """
  @opaque t :: %__MODULE__{
            names: [term],
            outputs: [{term, String.t(), map}],
            ref: reference,
            node: node()
          }

  @doc """
  Compiles `specs`, a keyword list or map of `name => spec` (or `name => {spec, options}`),
  into a `t:t/0`. Names are atoms or strings, each used once.

  Raises `ArgumentError` naming the output, the spec, the position and what was expected:

      iex> Snakepit.Marc.Spec.compile!(title: "245|1|a")
      ** (ArgumentError) invalid extraction spec "245|1|a" for :title at position 5: expected an indicator (a-z, 0-9, space, or * for any), got "|"
  """
  @spec compile!(keyword | map, keyword) :: t
  def compile!(specs, opts \\ [])

  def compile!(specs, opts) when (is_list(specs) or is_map(specs)) and specs != [] do
    common = Schema.validate!(opts, Options.schema())
    entries = Enum.map(specs, &entry!(&1, common))
    names = Enum.map(entries, &elem(&1, 0))

    case names -- Enum.uniq(names) do
      [] -> :ok
      dups -> raise ArgumentError, "extraction names must be unique, got #{inspect(dups)} twice"
    end

    case native_compile(entries) do
      {:ok, ref} ->
        %__MODULE__{names: names, outputs: entries, ref: ref, node: node()}

      {:error, {index, position, expected, found}} ->
        {name, spec, _} = Enum.at(entries, index)
        got = if found, do: inspect(found), else: "the end of the spec"

        raise ArgumentError,
              "invalid extraction spec #{inspect(spec)} for #{inspect(name)} at position " <>
                "#{position}: expected #{expected}, got #{got}"
    end
  end

  def compile!(specs, _opts) do
    raise ArgumentError,
          "expected a non-empty keyword list or map of name => spec string, got: " <>
            inspect(specs)
  end

  defp entry!({name, {spec, opts}}, common),
    do: {name!(name), spec!(name, spec), Schema.validate!(opts, Options.schema(common))}

  defp entry!({name, spec}, common), do: {name!(name), spec!(name, spec), common}

  defp entry!(other, _common),
    do: raise(ArgumentError, "expected name => spec string, got: #{inspect(other)}")

  defp name!(name) when is_atom(name) or is_binary(name), do: name

  defp name!(name),
    do:
      raise(
        ArgumentError,
        "an extraction name must be an atom or a string, got: #{inspect(name)}"
      )

  # Spec strings are a few bytes each in practice; this bounds the memory and compile work
  # a hostile one can cost.
  @max_spec_bytes 65_536

  defp spec!(name, spec) when is_binary(spec) and byte_size(spec) > @max_spec_bytes do
    raise ArgumentError,
          "the spec for #{inspect(name)} is #{byte_size(spec)} bytes, more than the " <>
            "#{@max_spec_bytes} a spec string may have"
  end

  defp spec!(_name, spec) when is_binary(spec), do: spec

  defp spec!(name, spec),
    do:
      raise(
        ArgumentError,
        "the spec for #{inspect(name)} must be a string, got: #{inspect(spec)}"
      )

  @doc "The output names of `compiled`, in the order they were given (for table columns)."
  @spec names(t) :: [term]
  def names(%__MODULE__{names: names}), do: names

  @doc """
  The values `compiled` selects from one record: `%{name => [String.t()]}`. The same answer
  as `Snakepit.Marc.extract/3` gives for that record in a file.
  """
  @spec extract(Record.t() | LazyRecord.t(), t) :: %{optional(term) => [String.t()]}
  def extract(%LazyRecord{bytes: bytes}, %__MODULE__{} = compiled), do: one(bytes, compiled)

  def extract(%Record{} = record, %__MODULE__{} = compiled),
    do: one(Encoder.encode(record), compiled)

  def extract(record, %__MODULE__{}),
    do:
      raise(
        ArgumentError,
        "expected a %Snakepit.Marc.Record{} or %Snakepit.Marc.LazyRecord{}, got: #{inspect(record, limit: 5)}"
      )

  def extract(_record, compiled),
    do:
      raise(
        ArgumentError,
        "expected a compiled spec from Snakepit.Marc.Spec.compile!/2, got: #{inspect(compiled)}"
      )

  # A record already read (checked and converted): its bytes are taken as they are.

  defp one(bytes, compiled) do
    {:ok, [values], 0} =
      batch(bytes, compiled, Snakepit.Marc.Options.native_as_read(:strict), 0, 0)

    values
  end

  @doc false
  # `{:ok, items, skipped}` | `{:error, %ParseError{}}`: `parse_batch`'s answer with a map of
  # values in place of each record.
  def batch(bytes, %__MODULE__{names: names} = spec, config, base_offset, first_index),
    do: Native.extract_batch(bytes, ref(spec), names, config, base_offset, first_index)

  @doc false
  # The native resource, for the `:thread` profile's `:extract` command: the spec's own on
  # the node that compiled it; on another node (the spec was sent there) compiled again, a
  # few microseconds.
  def ref(%__MODULE__{node: node, ref: ref}) when node == node(), do: ref

  def ref(%__MODULE__{outputs: entries}) do
    {:ok, ref} = native_compile(entries)
    ref
  end

  defp native_compile(entries),
    do: Native.extract_compile(Enum.map(entries, fn {_, spec, o} -> {spec, o} end))

  @doc false
  # `batch/5` for several `%Snakepit.Marc.Batch{}`es at once, extracted in parallel on
  # native threads: one answer per batch, in order.
  def batches(batches, %__MODULE__{names: names} = spec, config),
    do: Native.extract_batches(batch_parts(batches), ref(spec), names, config)

  @doc false
  # `batches/3` in two steps: `start_batches/3` sets the native work going on native threads
  # and returns at once; `finish_batches/3` waits for it and builds the answers. In between,
  # the caller can build the terms of the group before.
  def start_batches(batches, spec, config),
    do: Native.extract_batches_start(batch_parts(batches), ref(spec), config)

  @doc false
  def finish_batches(job, %__MODULE__{names: names}, config),
    do: Native.extract_batches_finish(job, names, config)

  @doc false
  # `start_batches/3` done in the calling process, one batch after the other (a fan-out
  # worker's share of the native work): the job is finished already, `finish_batches/3`
  # builds its terms at once.
  def outcomes(batches, spec, config),
    do: Native.extract_outcomes(batch_parts(batches), ref(spec), config)

  @doc false
  # `{binary, base_offset, first_index}` of each `%Snakepit.Marc.Batch{}`, as the NIFs (and
  # the `:extract` command's native arguments) take them.
  def batch_parts(batches), do: Enum.map(batches, &{&1.data, &1.base_offset, &1.first_index})
end
