defmodule Snakepit.Marc.Table do
  @moduledoc """
  Extraction rows (the maps of `Snakepit.Marc.extract/3`) as CSV, TSV or JSON Lines,
  streaming: one line per row, written as the rows come, so memory stays flat.

      iex> rows = [%{title: ["Moby Dick"], isbn: ["123", "456"]}, %{title: ["A, B"], isbn: []}]
      iex> rows |> Snakepit.Marc.Table.stream(columns: [:title, :isbn]) |> Enum.join()
      "title,isbn\\r\\nMoby Dick,123|456\\r\\n\\"A, B\\",\\r\\n"

  Formats:

    * `:csv` (RFC 4180): a header line, then one line per row, lines ended by CRLF; a cell
      holding a comma, a double quote, CR or LF is quoted, its quotes doubled. A multi-valued
      cell joins its values with `:joiner`.
    * `:tsv`: tab-separated, LF-ended, with backslash escapes for the bytes a TSV cell cannot
      hold (`\\t`, `\\n`, `\\r`, and `\\\\` for a backslash), as PostgreSQL's `COPY ... TEXT`
      reads them.
    * `:jsonl`: one JSON object per line, `{"column": ["value", ...]}`, the columns in order.

  `{:error, %Snakepit.Marc.ParseError{}}` items (from a `:permissive` extraction) are left
  out; `write/3` counts them.

  ## Options

  #{Snakepit.Options.Schema.docs(Snakepit.Marc.Table.Options.schema())}
  """

  alias Snakepit.Marc.Table.Options
  alias Snakepit.Options.Schema

  @doc """
  The lines of `rows` (an enumerable of maps), header first for CSV and TSV, as a stream of
  iodata.
  """
  @spec stream(Enumerable.t(), keyword) :: Enumerable.t()
  def stream(rows, opts \\ []) do
    config = Schema.validate!(opts, Options.schema())
    {lines, _count} = lines(rows, config, fn _ -> :ok end)
    lines
  end

  @doc """
  Writes `rows` to `destination`: a path (written to a temporary file beside it, renamed when
  every row is written, so an interrupted run never leaves a file that looks complete), or
  an IO device. Returns `{:ok, %{rows: written, errors: left_out}}`.
  """
  @spec write(Enumerable.t(), Path.t() | IO.device(), keyword) ::
          {:ok, %{rows: non_neg_integer, errors: non_neg_integer}}
  def write(rows, destination, opts \\ [])

  def write(rows, path, opts) when is_binary(path) do
    config = Schema.validate!(opts, Options.schema())
    random = 9 |> :rand.bytes() |> Base.url_encode64(padding: false)
    tmp = Path.join(Path.dirname(path), ".#{Path.basename(path)}.#{random}.tmp")
    device = File.open!(tmp, [:write, :binary, :delayed_write, :exclusive])

    try do
      counts = write_device(rows, device, config)
      :ok = File.close(device)
      File.rename!(tmp, path)
      {:ok, counts}
    after
      File.close(device)
      File.rm(tmp)
    end
  end

  def write(rows, device, opts) when is_pid(device) or is_atom(device) do
    {:ok, write_device(rows, device, Schema.validate!(opts, Options.schema()))}
  end

  def write(_rows, destination, _opts),
    do: raise(ArgumentError, "expected a path or an IO device, got: #{inspect(destination)}")

  defp write_device(rows, device, config) do
    counter = :counters.new(2, [])

    {lines, _} =
      lines(rows, config, fn
        :row -> :counters.add(counter, 1, 1)
        :error -> :counters.add(counter, 2, 1)
      end)

    lines
    |> Stream.chunk_every(200)
    |> Enum.each(&IO.binwrite(device, &1))

    %{rows: :counters.get(counter, 1), errors: :counters.get(counter, 2)}
  end

  # The line stream, `count` told of each row written and each error left out. With
  # `:columns` the header comes first even when there are no rows; without, the first row
  # names them.
  defp lines(rows, config, count) do
    given = config[:columns]

    body =
      Stream.transform(rows, given, fn
        {:error, _}, columns ->
          count.(:error)
          {[], columns}

        row, nil when is_map(row) ->
          columns = row |> Map.keys() |> Enum.sort()
          count.(:row)
          {header(columns, config) ++ [line(row, columns, config)], columns}

        row, columns when is_map(row) ->
          count.(:row)
          {[line(row, columns, config)], columns}

        other, _columns ->
          raise ArgumentError,
                "expected extraction rows (maps of name => [values]), got: " <>
                  inspect(other, limit: 5)
      end)

    {if(given, do: Stream.concat(header(given, config), body), else: body), nil}
  end

  defp header(_columns, %{header: false}), do: []
  defp header(_columns, %{format: :jsonl}), do: []

  defp header(columns, config),
    do: [line(Map.new(columns, &{&1, [to_string(&1)]}), columns, config)]

  defp line(row, columns, %{format: :jsonl}) do
    pairs =
      Enum.map_intersperse(columns, ",", fn column ->
        [
          Snakepit.JSON.encode_iodata(to_string(column)),
          ":",
          Snakepit.JSON.encode_iodata(values(row, column))
        ]
      end)

    ["{", pairs, "}\n"]
  end

  defp line(row, columns, %{format: :csv} = config),
    do: [Enum.map_intersperse(columns, ",", &csv_cell(cell(row, &1, config))), "\r\n"]

  defp line(row, columns, %{format: :tsv} = config),
    do: [Enum.map_intersperse(columns, "\t", &tsv_cell(cell(row, &1, config))), "\n"]

  defp values(row, column) do
    case Map.get(row, column, []) do
      values when is_list(values) -> values
      value -> [value]
    end
  end

  defp cell(row, column, config), do: Enum.join(values(row, column), config.joiner)

  defp csv_cell(cell) do
    if :binary.match(cell, pattern(:csv)) != :nomatch,
      do: [?", String.replace(cell, "\"", "\"\""), ?"],
      else: cell
  end

  # Compiled once per VM: compiling a pattern for every cell took most of a row's time.
  defp pattern(kind) do
    case :persistent_term.get({__MODULE__, kind}, nil) do
      nil ->
        bytes = if kind == :csv, do: [",", "\"", "\r", "\n"], else: ["\\", "\t", "\n", "\r"]
        compiled = :binary.compile_pattern(bytes)
        :persistent_term.put({__MODULE__, kind}, compiled)
        compiled

      compiled ->
        compiled
    end
  end

  defp tsv_cell(cell) do
    if :binary.match(cell, pattern(:tsv)) != :nomatch do
      cell
      |> String.replace("\\", "\\\\")
      |> String.replace("\t", "\\t")
      |> String.replace("\n", "\\n")
      |> String.replace("\r", "\\r")
    else
      cell
    end
  end
end
