defmodule Snakepit.Marc.Mrk do
  # MarcEdit's mnemonic format (.mrk8 in UTF-8, or MARCMaker's MARC-8 .mrk) and pymarc's
  # line dump behind Snakepit.Marc:
  # whole documents, streams of iodata chunks (one NIF call per batch of records) and the
  # reader. The format itself is native/snakepit_core/src/mrk/.
  @moduledoc false

  alias Snakepit.Marc.{LazyRecord, NativeResult, Options, Record}
  alias Snakepit.Native

  @write_batch 200

  # What the native writer takes for the line dump, which has no options.
  @text_config %{encoding: :utf8, unrepresentable: :ncr}

  def to_mrk(records, opts) do
    write(records, :mrk, Options.validate!(opts, :to_mrk))
  end

  def to_text(records, opts) do
    Options.validate!(opts, :to_text)
    write(records, :text, @text_config)
  end

  @doc """
  `style` (`:mrk` or `:text`) in chunks of `@write_batch` records, for the convert task;
  `opts` are `to_mrk/2`'s (`:mrk` only).
  """
  def stream(records, style, opts \\ []) when style in [:mrk, :text] do
    config = if style == :mrk, do: Options.validate!(opts, :to_mrk), else: @text_config

    records
    |> Stream.chunk_every(@write_batch)
    |> Stream.transform(0, fn batch, base ->
      {[NativeResult.write!(Native.records_to_mrk(batch, style, base, config))],
       base + length(batch)}
    end)
  end

  def from_mrk(binary, opts) when is_binary(binary) do
    config = Options.validate!(opts, :read)
    NativeResult.read(Native.from_mrk_binary(binary, config), config)
  end

  def from_mrk(other, _opts),
    do: raise(ArgumentError, "from_mrk/2 expects a binary, got: #{inspect(other, limit: 5)}")

  defp write(records, style, config) do
    list =
      case records do
        %struct{} = record when struct in [Record, LazyRecord] ->
          [record]

        list when is_list(list) ->
          list

        other ->
          raise ArgumentError,
                "expected a %Snakepit.Marc.Record{} or a list of them, got: #{inspect(other, limit: 5)}"
      end

    NativeResult.write!(Native.records_to_mrk(list, style, 0, config))
  end
end
