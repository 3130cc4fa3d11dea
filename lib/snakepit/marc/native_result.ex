defmodule Snakepit.Marc.NativeResult do
  # The one place where what the record NIFs answer becomes what the record API returns or
  # raises (Explorer's single ExplorerError conversion is the model). The native side builds
  # every record error as a %Snakepit.Marc.ParseError{} (terms.rs, `error_term`); a term of
  # the wrong shape handed to a writer comes back as `{:error, message}`.
  #
  # Readers: parse/2, parse_batch/2, from_json/2, from_xml/2 (and the :process profile's
  # :parse command, which calls parse/2). Writers: encode/1, to_json/2, to_xml/2 and their
  # stream forms. Lazy records: every LazyRecord accessor.
  @moduledoc false

  alias Snakepit.Marc.ParseError

  @doc """
  A reader NIF's `{:ok, items, skipped}` as the API returns it (`{:ok, items}`, or with
  `report: true` `{:ok, items, %{skipped: n}}`); a strict-mode `{:error, %ParseError{}}`
  as it is.
  """
  def read(result, config), do: result |> Snakepit.Marc.ReadEvents.result() |> reply(config)

  defp reply({:ok, items, skipped}, %{report: true}), do: {:ok, items, %{skipped: skipped}}
  defp reply({:ok, items, _skipped}, _config), do: {:ok, items}
  defp reply({:error, %ParseError{}} = error, _config), do: error

  @doc """
  A writer NIF's result: the binary, or a raise. A record whose content cannot be written
  raises its `Snakepit.Marc.ParseError` (`:invalid_value`, `:too_large`, `:no_fields`, or a
  lazy record's parse error); a term of the wrong shape raises `ArgumentError`.
  """
  def write!({:ok, binary}), do: binary
  def write!({:error, %ParseError{} = error}), do: raise(error)
  def write!({:error, message}) when is_binary(message), do: raise(ArgumentError, message)

  @doc """
  A lazy-record NIF's result: the value, or `ArgumentError` when the bytes are not one
  ISO 2709 record (a `LazyRecord` built by hand from bad bytes).
  """
  def lazy!({:ok, value}), do: value

  def lazy!({:error, %ParseError{} = error}) do
    raise ArgumentError,
          "a LazyRecord's bytes must be one ISO 2709 record: " <> Exception.message(error)
  end
end
