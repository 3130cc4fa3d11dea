defmodule Snakepit.Marc.LazyRecord do
  @moduledoc """
  A MARC record read with `records: :lazy`: its ISO 2709 `bytes` and nothing else. Fields
  are built only when you ask for them, so reading is several times faster when you need a
  few fields of each record, or none (counting, filtering, copying records through).

      iex> [lazy | _] = Snakepit.Marc.parse!(File.read!("../shared/corpus/formats/pymarc_test.dat"), records: :lazy)
      iex> Snakepit.Marc.LazyRecord.title(lazy)
      "ActivePerl with ASP and ADO /"
      iex> lazy["245"]["c"]
      "Tobias Martinsson."
      iex> Snakepit.Marc.LazyRecord.tags(lazy) |> Enum.take(3)
      ["001", "003", "005"]

  The lazy records of one read share binaries of at most 16 KB: a kept lazy record, or a
  value taken from it, pins at most 16 KB (a record of 16 KB or more has its own binary).
  To keep exactly one record's bytes, use `:binary.copy/1`.

  The bytes were checked when the record was read (structure, UTF-8, MARC-8 conversion as
  the read options said), so every accessor here gives exactly what the same record read as
  a `Snakepit.Marc.Record` holds: `to_record/1` builds that record. Values are sub-binaries
  of `bytes`, as in a `Record`.

  Each call parses the record's structure again (well under a microsecond for a typical
  record) and builds only the fields it returns. If you read most fields of a record, or the
  same record many times, `to_record/1` once is cheaper.

  `Snakepit.Marc.encode/1` checks the bytes (as `parse/2` would read them, and as any
  record is checked before it is written) and returns them as they are; `to_json/2`,
  `to_xml/2` and their stream forms write lazy records without building any field in
  Elixir.

  `Access` works as on `Snakepit.Marc.Record`: `lazy["245"]` is the first 245 field. An
  update through `Access` (`put_in/3`, `pop_in/2`) returns a `Snakepit.Marc.Record`.

  The editing functions of `Snakepit.Marc.Record` (`Record.add_field/2` and the others)
  take a lazy record too and return a `Snakepit.Marc.Record`.
  """

  @behaviour Access

  alias Snakepit.Marc.{Field, Linkage, NativeResult, Record}
  alias Snakepit.Native

  @enforce_keys [:bytes]
  defstruct [:bytes, repairs: []]

  @type t :: %__MODULE__{bytes: binary}
  @type tag :: binary

  # Records up to this size are tried on the caller's scheduler (the NIF answers :dirty
  # when one holds too many fields and subfields for that); larger ones go to a dirty one.
  @inline_bytes 100_000

  @doc "The 24-byte leader."
  @spec leader(t) :: binary
  def leader(%__MODULE__{bytes: <<leader::binary-size(24), _::binary>>}), do: leader
  def leader(other), do: not_a_record!(other)

  @doc """
  The tag of every field, in record order, read from the directory without building a field.
  """
  @spec tags(t) :: [tag]
  def tags(%__MODULE__{bytes: <<_leader::binary-size(24), directory::binary>>}),
    do: directory_tags(directory, [])

  def tags(other), do: not_a_record!(other)

  defp directory_tags(<<tag::binary-size(3), _::binary-size(9), rest::binary>>, acc)
       when binary_part(tag, 0, 1) != <<0x1E>>,
       do: directory_tags(rest, [tag | acc])

  defp directory_tags(_end_of_directory, acc), do: Enum.reverse(acc)

  @doc "Every field, in record order."
  @spec fields(t) :: [Field.t()]
  def fields(lazy), do: native(:fields, lazy, nil)

  @doc "Every field with the tag (or any of the tags), in record order."
  @spec fields(t, tag | [tag]) :: [Field.t()]
  def fields(lazy, tags), do: native(:fields, lazy, tag_list!(tags))

  @doc "The first field with `tag`, or `nil`."
  @spec field(t, tag) :: Field.t() | nil
  def field(lazy, tag) do
    case fields(lazy, tag) do
      [first | _] -> first
      [] -> nil
    end
  end

  @doc """
  Each field's text as `Snakepit.Marc.Field.value/1` gives it (a control field's value, a
  data field's subfield values joined by a space), in record order, built in one native call.

      iex> [lazy] = Snakepit.Marc.parse!(File.read!("../shared/corpus/formats/pymarc_one.dat"), records: :lazy)
      iex> Snakepit.Marc.LazyRecord.values(lazy, "650")
      ["Perl (Computer program language)"]
  """
  @spec values(t) :: [binary]
  def values(lazy), do: native(:values, lazy, nil)

  @doc "The texts of the fields with the tag (or any of the tags), in record order."
  @spec values(t, tag | [tag]) :: [binary]
  def values(lazy, tags), do: native(:values, lazy, tag_list!(tags))

  @doc "The whole record as a `Snakepit.Marc.Record`, its values sub-binaries of `bytes`."
  @spec to_record(t) :: Record.t()
  def to_record(lazy), do: %{native(:record, lazy, nil) | repairs: Map.get(lazy, :repairs, [])}

  @doc "As `Snakepit.Marc.Record.title/1`."
  @spec title(t) :: binary | nil
  def title(lazy), do: lazy |> partial(["245"]) |> Record.title()

  @doc "As `Snakepit.Marc.Record.author/1`."
  @spec author(t) :: binary | nil
  def author(lazy), do: lazy |> partial(["100", "110", "111"]) |> Record.author()

  @doc "As `Snakepit.Marc.Record.isbn/1`."
  @spec isbn(t) :: binary | nil
  def isbn(lazy), do: lazy |> partial(["020"]) |> Record.isbn()

  @doc "As `Snakepit.Marc.Record.issn/1`."
  @spec issn(t) :: binary | nil
  def issn(lazy), do: lazy |> partial(["022"]) |> Record.issn()

  @doc "As `Snakepit.Marc.Record.subjects/1`."
  @spec subjects(t) :: [Field.t()]
  def subjects(lazy) do
    case lazy |> tags() |> Enum.filter(&(&1 >= "600" and &1 <= "699")) |> Enum.uniq() do
      [] -> []
      subject_tags -> fields(lazy, subject_tags)
    end
  end

  @doc "As `Snakepit.Marc.Record.publisher/1`."
  @spec publisher(t) :: binary | nil
  def publisher(lazy), do: lazy |> partial(["260", "264"]) |> Record.publisher()

  @doc """
  As `Snakepit.Marc.Record.pubyear/1`.

      iex> lazies = Snakepit.Marc.parse!(File.read!("../shared/corpus/real/loc_bibliographic.mrc"), records: :lazy)
      iex> lazies |> Enum.at(0) |> Snakepit.Marc.LazyRecord.pubyear()
      "2017"
  """
  @spec pubyear(t) :: binary | nil
  def pubyear(lazy), do: lazy |> partial(["008", "260", "264"]) |> Record.pubyear()

  # The helpers that read a few tags: {helper, the tags it reads, its type, and a doctest
  # on real/loc_bibliographic.mrc: the record's index, what is done with the answer, the
  # answer}.
  @few_tag_helpers [
    {:physical_description, ["300"], quote(do: [Field.t()]), 0, " |> Enum.map(& &1.tag)",
     ~s(["300"])},
    {:series, Record.series_tags(), quote(do: [Field.t()]), 40, " |> Enum.map(& &1.tag)",
     ~s(["490"])},
    {:notes, Record.note_tags(), quote(do: [Field.t()]), 0, " |> Enum.map(& &1.tag)",
     ~s(["500", "500", "504", "505", "505", "520", "546"])},
    {:uniform_title, ["130", "240"], quote(do: binary | nil), 0, "", ~s("Works. Works")},
    {:location, ["852"], quote(do: [Field.t()]), 74, " |> Enum.map(& &1.tag)", ~s(["852"])},
    {:sudoc, ["086"], quote(do: binary | nil), 129, "", ~s("HE 19.324:")},
    {:issnl, ["022"], quote(do: binary | nil), 196, "", ~s("1671-3664")},
    {:isbns, ["020"], quote(do: [{binary, :valid | :invalid_checksum}]), 0, "",
     ~s([{"9789585946743", :valid}, {"9585946742", :valid}])},
    {:lccn, ["010"], quote(do: binary | nil), 0, "", ~s("2018406525")},
    {:oclc_numbers, ["035"], quote(do: [binary]), 6, "", ~s(["6502411"])},
    {:languages, ["008", "041"], quote(do: [binary]), 0, "", ~s(["spa"])}
  ]

  for {helper, tags, type, index, then, answer} <- @few_tag_helpers do
    @doc """
    As `Snakepit.Marc.Record.#{helper}/1`, building only the fields it reads
    (#{Enum.join(tags, ", ")}).

        iex> lazies = Snakepit.Marc.parse!(File.read!("../shared/corpus/real/loc_bibliographic.mrc"), records: :lazy)
        iex> lazies |> Enum.at(#{index}) |> Snakepit.Marc.LazyRecord.#{helper}()#{then}
        #{answer}
    """
    @spec unquote(helper)(t) :: unquote(type)
    def unquote(helper)(lazy), do: apply(Record, unquote(helper), [partial(lazy, unquote(tags))])
  end

  @doc """
  As `Snakepit.Marc.Record.linked_fields/2`, reading only the 880s and the fields of the
  tag the link names.

      iex> lazies = Snakepit.Marc.parse!(File.read!("../shared/corpus/real/loc_bibliographic.mrc"), records: :lazy)
      iex> lazy = Enum.at(lazies, 42)
      iex> lazy |> Snakepit.Marc.LazyRecord.linked_fields(lazy["245"]) |> Enum.map(& &1["6"])
      ["245-01/(N"]
  """
  @spec linked_fields(t, Field.t()) :: [Field.t()]
  def linked_fields(lazy, %Field{tag: tag} = field) do
    # An 880 links to the tag its $6 names; any other field to 880s.
    tags =
      case {tag, Linkage.link(field)} do
        {"880", {linked, _occurrence}} -> Enum.uniq([linked, "880"])
        _ -> Enum.uniq([tag, "880"])
      end

    lazy |> partial(tags) |> Record.linked_fields(field)
  end

  @doc """
  As `Snakepit.Marc.Record.alternate_graphic/2`, reading only the 880s.

      iex> lazies = Snakepit.Marc.parse!(File.read!("../shared/corpus/real/loc_bibliographic.mrc"), records: :lazy)
      iex> lazies |> Enum.at(42) |> Snakepit.Marc.LazyRecord.alternate_graphic("246") |> Enum.map(& &1["a"])
      ["Арцах"]
  """
  @spec alternate_graphic(t, tag) :: [Field.t()]
  def alternate_graphic(lazy, tag), do: lazy |> partial(["880"]) |> Record.alternate_graphic(tag)

  # A Record holding only the fields a helper reads: the helpers are Record's, so both
  # kinds of record answer alike.
  defp partial(%__MODULE__{} = lazy, tags),
    do: %Record{leader: leader(lazy), fields: fields(lazy, tags)}

  @impl Access
  def fetch(lazy, tag) when is_binary(tag) do
    case field(lazy, tag) do
      nil -> :error
      field -> {:ok, field}
    end
  end

  @impl Access
  def get_and_update(lazy, tag, fun), do: lazy |> to_record() |> Record.get_and_update(tag, fun)

  @impl Access
  def pop(lazy, tag), do: lazy |> to_record() |> Record.pop(tag)

  defp tag_list!(tag) when is_binary(tag) and byte_size(tag) == 3, do: [tag]

  defp tag_list!(tags) when is_list(tags) do
    if Enum.all?(tags, &(is_binary(&1) and byte_size(&1) == 3)),
      do: tags,
      else: bad_tags!(tags)
  end

  defp tag_list!(other), do: bad_tags!(other)

  defp bad_tags!(tags) do
    raise ArgumentError,
          "expected a three-byte tag or a list of them, got: #{inspect(tags)}"
  end

  defp native(op, %__MODULE__{bytes: bytes}, tags) when is_binary(bytes) do
    inline = if byte_size(bytes) <= @inline_bytes, do: Native.lazy(op, bytes, tags), else: :dirty
    result = if inline == :dirty, do: Native.lazy_dirty(op, bytes, tags), else: inline

    NativeResult.lazy!(result)
  end

  defp native(_op, other, _tags), do: not_a_record!(other)

  defp not_a_record!(other) do
    raise ArgumentError,
          "expected a %Snakepit.Marc.LazyRecord{} with binary bytes, got: #{inspect(other)}"
  end
end
