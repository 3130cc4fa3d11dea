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
    rows |> chunks(config, fn _, _ -> :ok end) |> Stream.flat_map(& &1)
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
    # Raw: written from this process, not through a file server process that every chunk
    # would be copied to (that took as long as building the lines).
    device = File.open!(tmp, [:write, :binary, :raw, :delayed_write, :exclusive])

    try do
      counts = write_device(rows, device, path, config)
      :ok = File.close(device)
      File.rename!(tmp, path)
      {:ok, counts}
    after
      File.close(device)
      File.rm(tmp)
    end
  end

  def write(rows, device, opts) when is_pid(device) or is_atom(device) do
    {:ok, write_device(rows, device, inspect(device), Schema.validate!(opts, Options.schema()))}
  end

  def write(_rows, destination, _opts),
    do: raise(ArgumentError, "expected a path or an IO device, got: #{inspect(destination)}")

  # `name`: the destination as an error names it.
  defp write_device(rows, device, name, config) do
    counter = :counters.new(2, [])

    # One binary a chunk: a device process is sent a refc binary, not a tree of small ones.
    rows
    |> chunks(config, fn rows, errors ->
      :counters.add(counter, 1, rows)
      :counters.add(counter, 2, errors)
    end)
    |> Enum.each(fn lines ->
      case IO.binwrite(device, IO.iodata_to_binary(lines)) do
        :ok -> :ok
        {:error, reason} -> raise File.Error, reason: reason, action: "write to", path: name
      end
    end)

    %{rows: :counters.get(counter, 1), errors: :counters.get(counter, 2)}
  end

  # Rows a chunk: each chunk's lines are made in one plain loop, not one stream step a row.
  @chunk 256

  # A stream of lists of lines, header first; `count` is told each chunk's rows written and
  # errors left out. With `:columns` the header comes first even when there are no rows;
  # without, the first row names them.
  defp chunks(rows, config, count) do
    given = config[:columns]
    config = Map.put(config, :pattern, pattern(config.format))

    body =
      rows
      |> Stream.chunk_every(@chunk)
      |> Stream.transform(given, fn chunk, columns ->
        {lines, columns, written, errors} = chunk_lines(chunk, columns, config, [], 0, 0)
        count.(written, errors)
        {[lines], columns}
      end)

    if given, do: Stream.concat([header(given, config)], body), else: body
  end

  defp chunk_lines([], columns, _config, lines, written, errors),
    do: {Enum.reverse(lines), columns, written, errors}

  defp chunk_lines([{:error, _} | rest], columns, config, lines, written, errors),
    do: chunk_lines(rest, columns, config, lines, written, errors + 1)

  defp chunk_lines([row | rest], nil, config, lines, written, errors) when is_map(row) do
    columns = row |> Map.keys() |> Enum.sort()
    lines = Enum.reverse(header(columns, config), lines)
    chunk_lines([row | rest], columns, config, lines, written, errors)
  end

  defp chunk_lines([row | rest], columns, config, lines, written, errors) when is_map(row),
    do:
      chunk_lines(
        rest,
        columns,
        config,
        [line(row, columns, config) | lines],
        written + 1,
        errors
      )

  defp chunk_lines([other | _], _columns, _config, _lines, _written, _errors) do
    raise ArgumentError,
          "expected extraction rows (maps of name => [values]), got: " <> inspect(other, limit: 5)
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

  defp line(row, columns, %{format: :csv} = config), do: [cells(columns, row, ?,, config), "\r\n"]
  defp line(row, columns, %{format: :tsv} = config), do: [cells(columns, row, ?\t, config), "\n"]

  defp cells([column], row, _separator, config), do: [escaped(cell(row, column, config), config)]

  defp cells([column | rest], row, separator, config),
    do: [
      escaped(cell(row, column, config), config),
      separator | cells(rest, row, separator, config)
    ]

  defp values(row, column) do
    case Map.get(row, column, []) do
      values when is_list(values) -> values
      value -> [value]
    end
  end

  defp cell(row, column, config) do
    case values(row, column) do
      [] -> ""
      [value] when is_binary(value) -> value
      values -> Enum.join(values, config.joiner)
    end
  end

  defp escaped(cell, %{format: :csv, pattern: pattern}) do
    if :binary.match(cell, pattern) != :nomatch,
      do: [?", String.replace(cell, "\"", "\"\""), ?"],
      else: cell
  end

  defp escaped(cell, %{format: :tsv, pattern: pattern}) do
    if :binary.match(cell, pattern) != :nomatch do
      cell
      |> String.replace("\\", "\\\\")
      |> String.replace("\t", "\\t")
      |> String.replace("\n", "\\n")
      |> String.replace("\r", "\\r")
    else
      cell
    end
  end

  # Compiled once a table: compiling a pattern for every cell took most of a row's time.
  defp pattern(:csv), do: :binary.compile_pattern([",", "\"", "\r", "\n"])
  defp pattern(:tsv), do: :binary.compile_pattern(["\\", "\t", "\n", "\r"])
  defp pattern(:jsonl), do: nil
end
