defmodule Snakepit.Marc.Record do
  @moduledoc """
  A MARC record: its 24-byte `leader` and its `fields` in order.

  Records implement `Access`: `record["245"]` is the first 245 field (or `nil`), so
  `record["245"]["a"]` is its first `$a`.

      iex> record = %Snakepit.Marc.Record{
      ...>   leader: "00000nam a2200000 a 4500",
      ...>   fields: [
      ...>     Snakepit.Marc.Field.control("001", "42"),
      ...>     Snakepit.Marc.Field.data("245", "1", "0", [{"a", "Moby Dick /"}, {"c", "Herman Melville."}])
      ...>   ]
      ...> }
      iex> record["245"]["a"]
      "Moby Dick /"
      iex> Snakepit.Marc.Record.title(record)
      "Moby Dick /"

  The helpers below (`title/1`, `author/1`, `isbn/1`, `issn/1`, `subjects/1`,
  `publisher/1`, `pubyear/1`, `physical_description/1`, `series/1`, `notes/1`,
  `uniform_title/1`, `location/1`, `sudoc/1`, `issnl/1`, `isbns/1`, `lccn/1`,
  `oclc_numbers/1`, `languages/1`) follow pymarc's and mrrc's conventions; where they
  differ, their docs and the guide "Editing records" (`docs/editing-records.md`) say how.

  Records are edited with pure functions that pipe (`add_field/2`, `add_ordered_field/2`,
  `add_grouped_field/2`, `insert_field/3`, `remove_fields/2`, `update_fields/3`,
  `put_leader/2`); every value put in is checked, so an edited record can be encoded.
  `linked_fields/2`, `alternate_graphic/2` and `link_problems/1` follow 880 linkage.
  """

  @behaviour Access

  alias Snakepit.Marc.{Field, FieldCheck, Identifiers, LazyRecord, Linkage, RecordEdit}

  defstruct leader: nil, fields: [], repairs: []

  @type tag :: binary
  @type t :: %__MODULE__{leader: binary, fields: [Field.t()]}

  @doc """
  Every field with the tag (or any of the tags), in record order.

      iex> record = %Snakepit.Marc.Record{leader: "", fields: [
      ...>   Snakepit.Marc.Field.data("650", [{"a", "Whales"}]),
      ...>   Snakepit.Marc.Field.data("651", [{"a", "Pacific Ocean"}]),
      ...>   Snakepit.Marc.Field.data("650", [{"a", "Sea stories"}])]}
      iex> record |> Snakepit.Marc.Record.fields("650") |> Enum.map(& &1["a"])
      ["Whales", "Sea stories"]
      iex> record |> Snakepit.Marc.Record.fields(["650", "651"]) |> length()
      3
  """
  @spec fields(t, tag | [tag]) :: [Field.t()]
  def fields(%__MODULE__{fields: fields}, tags) when is_list(tags),
    do: Enum.filter(fields, &(&1.tag in tags))

  def fields(%__MODULE__{fields: fields}, tag) when is_binary(tag),
    do: Enum.filter(fields, &(&1.tag == tag))

  @doc "The first field with `tag`, or `nil`."
  @spec field(t, tag) :: Field.t() | nil
  def field(%__MODULE__{fields: fields}, tag), do: first_field(fields, tag)

  @doc """
  Title proper: 245 `$a`, followed by `$b` (remainder of title) when present.
  """
  @spec title(t) :: binary | nil
  def title(%__MODULE__{fields: fields}) do
    case first_field(fields, "245") do
      %Field{subfields: subfields} -> join_title(subfields, [])
      nil -> nil
    end
  end

  # $a and $b, trimmed, joined by one space; nil when there is neither. Hot in ingest
  # loops, so it walks the subfields once and builds iodata.
  defp join_title([], []), do: nil
  defp join_title([], [_sep | parts]), do: parts |> Enum.reverse() |> IO.iodata_to_binary()

  defp join_title([{code, value} | rest], acc) when code in ["a", "b"],
    do: join_title(rest, [" ", trim_ascii(value) | acc])

  defp join_title([_ | rest], acc), do: join_title(rest, acc)

  defp first_field([%Field{tag: tag} = field | _], tag), do: field
  defp first_field([_ | rest], tag), do: first_field(rest, tag)
  defp first_field([], _tag), do: nil

  # Spaces around MARC values are ASCII; String.trim/1's Unicode tables are not needed.
  defp trim_ascii(<<c, rest::binary>>) when c in [?\s, ?\t, ?\n, ?\r], do: trim_ascii(rest)
  defp trim_ascii(value), do: trim_trailing(value, byte_size(value))

  defp trim_trailing(value, 0), do: binary_part(value, 0, 0)

  defp trim_trailing(value, n) do
    if :binary.at(value, n - 1) in [?\s, ?\t, ?\n, ?\r],
      do: trim_trailing(value, n - 1),
      else: binary_part(value, 0, n)
  end

  @doc "Main entry: 100, 110 or 111 `$a`, the first present."
  @spec author(t) :: binary | nil
  def author(record), do: first_value(record, ["100", "110", "111"], "a")

  @doc """
  The first ISBN: 020 `$a` reduced to its number (10 or 13 characters, final `X` kept).

      iex> record = %Snakepit.Marc.Record{leader: "", fields: [Snakepit.Marc.Field.data("020", [{"a", "0-201-61622-X (pbk.)"}])]}
      iex> Snakepit.Marc.Record.isbn(record)
      "020161622X"
  """
  @spec isbn(t) :: binary | nil
  def isbn(record) do
    Enum.find_value(fields(record, "020"), fn field ->
      Enum.find_value(Field.subfields(field, "a"), &Identifiers.isbn/1)
    end)
  end

  @doc "022 `$a`."
  @spec issn(t) :: binary | nil
  def issn(record), do: first_value(record, ["022"], "a")

  @doc """
  Subject access fields (600-699), in record order: pymarc's `subjects`.
  """
  @spec subjects(t) :: [Field.t()]
  def subjects(%__MODULE__{fields: fields}),
    do: Enum.filter(fields, fn %Field{tag: tag} -> tag >= "600" and tag <= "699" end)

  @doc "Publisher: 260 `$b`, else 264 `$b` (a 264 with second indicator 1, publication)."
  @spec publisher(t) :: binary | nil
  def publisher(record), do: publication_value(record, "b")

  @doc """
  Year of publication: the first four-digit year in the `$c` of a 264 with second
  indicator 1 (publication), else in a 260 `$c`, else 008/07-10 (date 1) when it is four
  digits in a bibliographic record; `nil` when none has one.

  pymarc's `pubyear` differs: it gives the whole `$c` (`"c1851."`) of whichever of 260 and
  264 (second indicator 1) comes first in the record, and never reads 008.

      iex> record = %Snakepit.Marc.Record{leader: "", fields: [Snakepit.Marc.Field.data("260", [{"b", "Harper,"}, {"c", "c1851."}])]}
      iex> {Snakepit.Marc.Record.publisher(record), Snakepit.Marc.Record.pubyear(record)}
      {"Harper,", "1851"}
      iex> record = Snakepit.Marc.Record.add_field(record, Snakepit.Marc.Field.data("264", " ", "1", [{"c", "[2019]"}]))
      iex> Snakepit.Marc.Record.pubyear(record)
      "2019"
  """
  @spec pubyear(t) :: binary | nil
  def pubyear(%__MODULE__{} = record) do
    publication_264 = for %Field{ind2: "1"} = f <- fields(record, "264"), do: f

    Enum.find_value(publication_264 ++ fields(record, "260"), &year_in(&1["c"])) ||
      year_of_008(record)
  end

  defp year_in(nil), do: nil

  defp year_in(value) do
    case Regex.run(~r/[0-9]{4}/, value) do
      [year] -> year
      nil -> nil
    end
  end

  defp year_of_008(%__MODULE__{leader: leader} = record) do
    with true <- bibliographic?(leader),
         %Field{value: <<_::binary-size(7), date1::binary-size(4), _::binary>>} <-
           field(record, "008"),
         true <- date1 =~ ~r/\A[0-9]{4}\z/ do
      date1
    else
      _ -> nil
    end
  end

  # Leader/06 of a bibliographic record (not authority, holdings, classification or
  # community information): only there are 008/07-10 and 35-37 dates and a language.
  defp bibliographic?(<<_::binary-size(6), type, _::binary>>), do: type in ~c"acdefgijkmoprt"
  defp bibliographic?(_leader), do: false

  defp publication_value(record, code) do
    first_value(record, ["260"], code) ||
      Enum.find_value(fields(record, "264"), fn
        %Field{ind2: "1"} = f -> f[code]
        _ -> nil
      end) ||
      first_value(record, ["264"], code)
  end

  defp first_value(record, tags, code) do
    Enum.find_value(fields(record, tags), fn field -> field[code] end)
  end

  # ------------------------------------------------------------------ editing
  #
  # Pure functions: each returns a new record. Fields and leaders put in are checked by
  # `Snakepit.Marc.FieldCheck` (an ArgumentError naming the value and the rule), so an
  # edited record can always be encoded. Each also takes a `Snakepit.Marc.LazyRecord` and
  # returns a `Snakepit.Marc.Record` (the lazy record is built in full first).

  @doc """
  Appends a field (or a list of fields) at the end of the record, as pymarc's `add_field`.

  The field is checked: a control field has a tag `001`-`009` and a binary value, a data
  field another tag, one-byte ASCII indicators and codes; no value holds 0x1D, 0x1E or
  0x1F; and when the record is UTF-8 (leader/09 `a`) every value is valid UTF-8. Anything
  else raises `ArgumentError`.

      iex> record = %Snakepit.Marc.Record{leader: "00000nam a2200000 a 4500", fields: [Snakepit.Marc.Field.control("001", "42")]}
      iex> record = Snakepit.Marc.Record.add_field(record, Snakepit.Marc.Field.data("590", [{"a", "Local note."}]))
      iex> Enum.map(record.fields, & &1.tag)
      ["001", "590"]
      iex> Snakepit.Marc.Record.add_field(record, Snakepit.Marc.Field.data("500", [{"a", <<0xE9>>}]))
      ** (ArgumentError) the record is UTF-8 (leader/09 = a) but this 500 value is not valid UTF-8: "\\xE9"
  """
  @spec add_field(t | LazyRecord.t(), Field.t() | [Field.t()]) :: t
  def add_field(record, field), do: RecordEdit.add_field(record, field)

  @doc """
  Adds a field (or each of a list) before the first field with a greater tag, keeping
  numeric tag order, as pymarc's `add_ordered_field`: a field whose tag is not all digits,
  or added to a record without fields, goes at the end, and a field goes before the first
  field whose tag is not all digits.

      iex> record = %Snakepit.Marc.Record{leader: "00000nam a2200000 a 4500", fields: [
      ...>   Snakepit.Marc.Field.control("001", "42"),
      ...>   Snakepit.Marc.Field.data("245", [{"a", "Title"}]),
      ...>   Snakepit.Marc.Field.data("650", [{"a", "Whales"}])]}
      iex> record |> Snakepit.Marc.Record.add_ordered_field(Snakepit.Marc.Field.data("500", [{"a", "Note."}])) |> Snakepit.Marc.Record.tags()
      ["001", "245", "500", "650"]
  """
  @spec add_ordered_field(t | LazyRecord.t(), Field.t() | [Field.t()]) :: t
  def add_ordered_field(record, field), do: RecordEdit.add_sorted_field(record, field, :ordered)

  @doc """
  Adds a field (or each of a list) after the last field of the same hundred (the same
  first digit), as pymarc's `add_grouped_field`: before the first field of a greater
  hundred, with the same rules as `add_ordered_field/2` for tags that are not all digits.

      iex> record = %Snakepit.Marc.Record{leader: "00000nam a2200000 a 4500", fields: [
      ...>   Snakepit.Marc.Field.data("245", [{"a", "Title"}]),
      ...>   Snakepit.Marc.Field.data("650", [{"a", "Whales"}]),
      ...>   Snakepit.Marc.Field.data("600", [{"a", "Ahab"}]),
      ...>   Snakepit.Marc.Field.data("700", [{"a", "Ishmael"}])]}
      iex> record |> Snakepit.Marc.Record.add_grouped_field(Snakepit.Marc.Field.data("651", [{"a", "Nantucket"}])) |> Snakepit.Marc.Record.tags()
      ["245", "650", "600", "651", "700"]
  """
  @spec add_grouped_field(t | LazyRecord.t(), Field.t() | [Field.t()]) :: t
  def add_grouped_field(record, field), do: RecordEdit.add_sorted_field(record, field, :grouped)

  @doc """
  Inserts a field before the field at `index` (0-based; a negative index counts from the
  end, as `List.insert_at/3`). The field is checked as by `add_field/2`.

      iex> record = %Snakepit.Marc.Record{leader: "00000nam a2200000 a 4500", fields: [Snakepit.Marc.Field.data("245", [{"a", "Title"}])]}
      iex> record |> Snakepit.Marc.Record.insert_field(0, Snakepit.Marc.Field.control("001", "42")) |> Snakepit.Marc.Record.tags()
      ["001", "245"]
  """
  @spec insert_field(t | LazyRecord.t(), integer, Field.t()) :: t
  def insert_field(record, index, field), do: RecordEdit.insert_field(record, index, field)

  @doc """
  Removes every field with a tag, with any of a list of tags, or for which a predicate on
  the field is true.

      iex> record = %Snakepit.Marc.Record{leader: "00000nam a2200000 a 4500", fields: [
      ...>   Snakepit.Marc.Field.control("001", "42"),
      ...>   Snakepit.Marc.Field.data("590", [{"a", "Local."}]),
      ...>   Snakepit.Marc.Field.data("650", " ", "0", [{"a", "Whales"}]),
      ...>   Snakepit.Marc.Field.data("650", " ", "7", [{"a", "Baleines"}])]}
      iex> record |> Snakepit.Marc.Record.remove_fields("590") |> Snakepit.Marc.Record.tags()
      ["001", "650", "650"]
      iex> record |> Snakepit.Marc.Record.remove_fields(["001", "590"]) |> Snakepit.Marc.Record.tags()
      ["650", "650"]
      iex> record |> Snakepit.Marc.Record.remove_fields(&(&1.tag == "650" and &1.ind2 == "7")) |> Snakepit.Marc.Record.tags()
      ["001", "590", "650"]
  """
  @spec remove_fields(t | LazyRecord.t(), tag | [tag] | (Field.t() -> as_boolean(term))) :: t
  def remove_fields(record, which), do: RecordEdit.remove_fields(record, which)

  @doc """
  Replaces each field with a tag (or any of a list of tags, or for which a predicate on
  the field is true) by `fun.(field)`, which must return a field (checked as by
  `add_field/2`). The field keeps its place in the record.

      iex> record = %Snakepit.Marc.Record{leader: "00000nam a2200000 a 4500", fields: [
      ...>   Snakepit.Marc.Field.data("245", "1", "0", [{"a", "Moby Dick /"}, {"c", "Herman Melville."}])]}
      iex> record = Snakepit.Marc.Record.update_fields(record, "245", &Snakepit.Marc.Field.put_indicators(&1, "0", "0"))
      iex> {record["245"].ind1, record["245"]["a"]}
      {"0", "Moby Dick /"}
  """
  @spec update_fields(
          t | LazyRecord.t(),
          tag | [tag] | (Field.t() -> as_boolean(term)),
          (Field.t() -> Field.t())
        ) :: t
  def update_fields(record, which, fun), do: RecordEdit.update_fields(record, which, fun)

  @doc """
  Replaces the leader: a 24-byte binary holding none of 0x1D, 0x1E, 0x1F. Setting
  leader/09 to `a` (UTF-8) checks that every value already in the record is valid UTF-8.
  Positions 00-04 and 12-16 (lengths) are recomputed when the record is encoded.

      iex> record = %Snakepit.Marc.Record{leader: "00000nam a2200000 a 4500", fields: [Snakepit.Marc.Field.control("001", "42")]}
      iex> Snakepit.Marc.Record.put_leader(record, "00000cam a2200000 a 4500").leader
      "00000cam a2200000 a 4500"
      iex> Snakepit.Marc.Record.put_leader(record, "short")
      ** (ArgumentError) a leader is a 24-byte binary, got: "short"
  """
  @spec put_leader(t | LazyRecord.t(), binary) :: t
  def put_leader(record, leader), do: RecordEdit.put_leader(record, leader)

  @doc """
  The tag of every field, in record order.

      iex> Snakepit.Marc.Record.tags(%Snakepit.Marc.Record{leader: "", fields: [Snakepit.Marc.Field.control("001", "1")]})
      ["001"]
  """
  @spec tags(t) :: [tag]
  def tags(%__MODULE__{fields: fields}), do: Enum.map(fields, & &1.tag)

  # ------------------------------------------------------------------ linked fields

  @doc """
  The fields linked to `field` by `$6` (MARC 21 linkage): for a field with `$6 880-NN`,
  the 880s with `$6 TAG-NN` (TAG being the field's tag); for an 880 with `$6 TAG-NN`, the
  TAG fields with `$6 880-NN`. Occurrence `00` (an 880 with no original) and a field
  without `$6` link to nothing: `[]`.

  pymarc's `get_linked_fields` compares occurrence numbers only, and raises when a field
  names an 880 that is missing; here the tag must match too, and missing or mismatched
  links are reported by `link_problems/1`, never raised.

      iex> record = %Snakepit.Marc.Record{leader: "00000nam a2200000 a 4500", fields: [
      ...>   Snakepit.Marc.Field.data("245", "1", "0", [{"6", "880-01"}, {"a", "Zhongguo tong shi /"}]),
      ...>   Snakepit.Marc.Field.data("880", "1", "0", [{"6", "245-01/$1"}, {"a", "中国通史 /"}])]}
      iex> [linked] = Snakepit.Marc.Record.linked_fields(record, record["245"])
      iex> linked["a"]
      "中国通史 /"
      iex> [original] = Snakepit.Marc.Record.linked_fields(record, linked)
      iex> original.tag
      "245"
  """
  @spec linked_fields(t | LazyRecord.t(), Field.t()) :: [Field.t()]
  def linked_fields(record, %Field{} = field),
    do: Linkage.linked_fields(RecordEdit.editable!(record).fields, field)

  @doc """
  The 880 fields that are alternate graphic representations of fields tagged `tag`
  (their `$6` names `tag`), linked or not (occurrence `00`), in record order.

      iex> record = %Snakepit.Marc.Record{leader: "00000nam a2200000 a 4500", fields: [
      ...>   Snakepit.Marc.Field.data("880", "1", " ", [{"6", "100-01/$1"}, {"a", "司馬遷"}]),
      ...>   Snakepit.Marc.Field.data("880", " ", " ", [{"6", "500-00/$1"}, {"a", "附錄"}])]}
      iex> record |> Snakepit.Marc.Record.alternate_graphic("100") |> Enum.map(& &1["a"])
      ["司馬遷"]
  """
  @spec alternate_graphic(t | LazyRecord.t(), tag) :: [Field.t()]
  def alternate_graphic(record, tag),
    do: Linkage.alternate_graphic(RecordEdit.editable!(record).fields, FieldCheck.tag!(tag))

  @doc """
  Every `$6` link that does not lead where it should, as data for validation to report,
  in field order: a map with the `kind`, the field's `index` and `tag`, the `$6` as it is
  (`link`) and a `detail` sentence. Kinds:

  - `:malformed`: the `$6` is not `TAG-NN` (three digits, a hyphen, two digits, then
    optionally `/` and a script code);
  - `:missing_880`: a field links to `880-NN` but no 880 has `$6 TAG-NN`;
  - `:orphan_880`: an 880 links to `TAG-NN` (not `00`) but no TAG field has `$6 880-NN`;
  - `:mismatched`: an 880's `$6` names another tag than the field linking to it, or a
    field other than an 880 links to a tag other than `880`.

      iex> record = %Snakepit.Marc.Record{leader: "00000nam a2200000 a 4500", fields: [
      ...>   Snakepit.Marc.Field.data("245", [{"6", "880-01"}, {"a", "Title"}]),
      ...>   Snakepit.Marc.Field.data("880", [{"6", "260-02"}, {"a", "出版"}])]}
      iex> record |> Snakepit.Marc.Record.link_problems() |> Enum.map(&{&1.kind, &1.index})
      [{:missing_880, 0}, {:orphan_880, 1}]
  """
  @spec link_problems(t | LazyRecord.t()) :: [map]
  def link_problems(record), do: Linkage.problems(RecordEdit.editable!(record).fields)

  # ------------------------------------------------------------------ more helpers
  #
  # pymarc 5.4's properties, same semantics unless the doc says otherwise.

  @doc """
  Physical description fields (300): pymarc's `physicaldescription`.

      iex> record = %Snakepit.Marc.Record{leader: "", fields: [Snakepit.Marc.Field.data("300", [{"a", "xi, 635 p. ;"}, {"c", "24 cm."}])]}
      iex> record |> Snakepit.Marc.Record.physical_description() |> Enum.map(&Snakepit.Marc.Field.value/1)
      ["xi, 635 p. ; 24 cm."]
  """
  @spec physical_description(t) :: [Field.t()]
  def physical_description(record), do: fields(record, "300")

  @series_tags ~w(440 490 800 810 811 830)

  @doc """
  Series statements and added entries (440, 490, 800, 810, 811, 830), in record order:
  pymarc's `series`.

      iex> record = %Snakepit.Marc.Record{leader: "", fields: [Snakepit.Marc.Field.data("490", "1", " ", [{"a", "Penguin classics"}])]}
      iex> record |> Snakepit.Marc.Record.series() |> Enum.map(& &1["a"])
      ["Penguin classics"]
  """
  @spec series(t) :: [Field.t()]
  def series(record), do: fields(record, @series_tags)

  @doc false
  def series_tags, do: @series_tags

  # pymarc's list: the defined 5XX notes and 590-599 (local), not every 5XX.
  @note_tags ~w(500 501 502 504 505 506 507 508 510 511 513 514 515 516 518 520 521 522
                524 525 526 530 533 534 535 536 538 540 541 544 545 546 547 550 552 555
                556 561 562 563 565 567 580 581 583 584 585 586 590 591 592 593 594 595
                596 597 598 599)

  @doc """
  Note fields, in record order: pymarc's `notes`, which lists the defined 5XX tags and
  590-599 (so 588, a defined note since 2009, is not among them, as in pymarc).

      iex> record = %Snakepit.Marc.Record{leader: "", fields: [
      ...>   Snakepit.Marc.Field.data("504", [{"a", "Includes index."}]),
      ...>   Snakepit.Marc.Field.data("650", [{"a", "Whales"}]),
      ...>   Snakepit.Marc.Field.data("500", [{"a", "Translation."}])]}
      iex> record |> Snakepit.Marc.Record.notes() |> Enum.map(& &1.tag)
      ["504", "500"]
  """
  @spec notes(t) :: [Field.t()]
  def notes(record), do: fields(record, @note_tags)

  @doc false
  def note_tags, do: @note_tags

  @doc """
  Uniform title: the first 130, else the first 240, formatted as pymarc's `uniformtitle`
  (its subfields but `$6`, joined by a space, trimmed); `nil` without either.

      iex> record = %Snakepit.Marc.Record{leader: "", fields: [Snakepit.Marc.Field.data("240", "1", "0", [{"a", "Moby Dick."}, {"l", "French"}])]}
      iex> Snakepit.Marc.Record.uniform_title(record)
      "Moby Dick. French"
  """
  @spec uniform_title(t) :: binary | nil
  def uniform_title(record), do: formatted(field(record, "130") || field(record, "240"))

  @doc """
  Holdings locations (852 fields): pymarc's `location`.

      iex> record = %Snakepit.Marc.Record{leader: "", fields: [Snakepit.Marc.Field.data("852", "0", " ", [{"a", "DLC"}, {"h", "PS2384"}])]}
      iex> record |> Snakepit.Marc.Record.location() |> Enum.map(& &1["h"])
      ["PS2384"]
  """
  @spec location(t) :: [Field.t()]
  def location(record), do: fields(record, "852")

  @doc """
  Superintendent of Documents classification: the first 086, formatted as pymarc's
  `sudoc`; `nil` without one.

      iex> record = %Snakepit.Marc.Record{leader: "", fields: [Snakepit.Marc.Field.data("086", "0", " ", [{"a", "I 19.79:EC 7/OR"}])]}
      iex> Snakepit.Marc.Record.sudoc(record)
      "I 19.79:EC 7/OR"
  """
  @spec sudoc(t) :: binary | nil
  def sudoc(record), do: formatted(field(record, "086"))

  @doc """
  ISSN-L (linking ISSN): `$l` of the first 022, as pymarc's `issnl`.

      iex> record = %Snakepit.Marc.Record{leader: "", fields: [Snakepit.Marc.Field.data("022", [{"a", "0264-2875"}, {"l", "0264-2875"}])]}
      iex> Snakepit.Marc.Record.issnl(record)
      "0264-2875"
  """
  @spec issnl(t) :: binary | nil
  def issnl(record) do
    case field(record, "022") do
      %Field{} = f -> f["l"]
      nil -> nil
    end
  end

  @doc """
  Every ISBN of the record: each 020 `$a` that starts with a number, reduced to it as by
  `isbn/1` (hyphens and spaces removed, 10 or 13 characters), with its check digit
  verified: `{isbn, :valid}` or `{isbn, :invalid_checksum}`, in record order. `$z`
  (cancelled or invalid ISBNs) is not read. pymarc has no such property.

      iex> record = %Snakepit.Marc.Record{leader: "", fields: [
      ...>   Snakepit.Marc.Field.data("020", [{"a", "0-201-61622-X (pbk.)"}]),
      ...>   Snakepit.Marc.Field.data("020", [{"a", "978-0-201-61622-4"}]),
      ...>   Snakepit.Marc.Field.data("020", [{"a", "0201616221"}])]}
      iex> Snakepit.Marc.Record.isbns(record)
      [{"020161622X", :valid}, {"9780201616224", :valid}, {"0201616221", :invalid_checksum}]
  """
  @spec isbns(t) :: [{binary, :valid | :invalid_checksum}]
  def isbns(record) do
    for field <- fields(record, "020"),
        value <- Field.subfields(field, "a"),
        isbn = Identifiers.isbn(value),
        do: {isbn, Identifiers.isbn_checksum(isbn)}
  end

  @doc """
  The LCCN: `$a` of the first 010, normalised as the Library of Congress specifies
  (blanks removed; a `/` and all after it removed; a hyphen removed and the serial after
  it left-padded with zeros to six digits); `nil` without one. pymarc has no such
  property.

      iex> record = %Snakepit.Marc.Record{leader: "", fields: [Snakepit.Marc.Field.data("010", [{"a", "   85-2 //r86"}])]}
      iex> Snakepit.Marc.Record.lccn(record)
      "85000002"
  """
  @spec lccn(t) :: binary | nil
  def lccn(record) do
    with %Field{} = f <- field(record, "010"),
         value when is_binary(value) <- f["a"],
         do: Identifiers.lccn(value)
  end

  @doc """
  OCLC numbers: every 035 `$a` with the `(OCoLC)` prefix, the prefix, an `ocm`/`ocn`/`on`
  after it and leading zeros removed, in record order, without repeats. pymarc has no
  such property.

      iex> record = %Snakepit.Marc.Record{leader: "", fields: [
      ...>   Snakepit.Marc.Field.data("035", [{"a", "(OCoLC)ocm00012345"}]),
      ...>   Snakepit.Marc.Field.data("035", [{"a", "(DLC)  85000002"}]),
      ...>   Snakepit.Marc.Field.data("035", [{"a", "(OCoLC)987654321"}])]}
      iex> Snakepit.Marc.Record.oclc_numbers(record)
      ["12345", "987654321"]
  """
  @spec oclc_numbers(t) :: [binary]
  def oclc_numbers(record) do
    for(
      field <- fields(record, "035"),
      value <- Field.subfields(field, "a"),
      number = Identifiers.oclc_number(value),
      do: number
    )
    |> Enum.uniq()
  end

  @doc """
  Language codes: 008/35-37 of a bibliographic record (when it is a code, not blanks or
  fill), then every code in the 041 fields' letter subfields (`$a`, `$b`, `$d`, ...; a
  value holding several codes run together, as before 2001, is split), lower-cased, in
  that order, without repeats. pymarc has no such property.

      iex> record = %Snakepit.Marc.Record{leader: "00000nam a2200000 a 4500", fields: [
      ...>   Snakepit.Marc.Field.control("008", "850423s1851    nyu           000 1 eng  "),
      ...>   Snakepit.Marc.Field.data("041", "1", " ", [{"a", "eng"}, {"h", "frelat"}])]}
      iex> Snakepit.Marc.Record.languages(record)
      ["eng", "fre", "lat"]
  """
  @spec languages(t) :: [binary]
  def languages(%__MODULE__{leader: leader} = record) do
    from_008 =
      with true <- bibliographic?(leader),
           %Field{value: value} when is_binary(value) <- field(record, "008"),
           code when is_binary(code) <- Identifiers.language_008(value),
           do: [code],
           else: (_ -> [])

    from_041 =
      for field <- fields(record, "041"),
          {<<c>>, value} <- field.subfields,
          c in ?a..?z,
          code <- Identifiers.language_codes(value),
          do: code

    Enum.uniq(from_008 ++ from_041)
  end

  # pymarc's Field.format_field for the fields it is used on here (not subjects): the
  # subfields but $6, joined by a space, trimmed.
  defp formatted(nil), do: nil
  defp formatted(%Field{value: value}) when is_binary(value), do: value

  defp formatted(%Field{subfields: subfields}) do
    subfields
    |> Enum.reject(&match?({"6", _}, &1))
    |> Enum.map_join(" ", &elem(&1, 1))
    |> String.trim()
  end

  @impl Access
  def fetch(record, tag) when is_binary(tag) do
    case field(record, tag) do
      nil -> :error
      field -> {:ok, field}
    end
  end

  @impl Access
  def get_and_update(%__MODULE__{fields: fields} = record, tag, fun) do
    case fun.(Access.get(record, tag)) do
      {current, nil} ->
        {current, %{record | fields: delete_first(fields, tag)}}

      {current, %Field{} = new} ->
        new = FieldCheck.field!(new, record.leader)
        {current, %{record | fields: replace_first(fields, tag, new)}}

      :pop ->
        pop(record, tag)
    end
  end

  @impl Access
  def pop(%__MODULE__{fields: fields} = record, tag) do
    case Enum.find_index(fields, &(&1.tag == tag)) do
      nil -> {nil, record}
      i -> {Enum.at(fields, i), %{record | fields: List.delete_at(fields, i)}}
    end
  end

  defp delete_first(fields, tag) do
    case Enum.find_index(fields, &(&1.tag == tag)) do
      nil -> fields
      i -> List.delete_at(fields, i)
    end
  end

  defp replace_first(fields, tag, new) do
    case Enum.find_index(fields, &(&1.tag == tag)) do
      nil -> fields ++ [new]
      i -> List.replace_at(fields, i, new)
    end
  end

  # Leader and fixed fields, decoded (Snakepit.Marc.FixedFields); a LazyRecord works too.

  @doc """
  The material type from leader/06-07, as MARC 21 defines it for the 008: `:books`,
  `:continuing_resources`, `:maps`, `:music`, `:visual_materials`, `:computer_files`,
  `:mixed_materials`; or `:authority`, `:holdings`, `:classification`,
  `:community_information` for records of the other formats, `:unknown` otherwise. Accepts
  a `Snakepit.Marc.LazyRecord` too.

      iex> Snakepit.Marc.Record.material_type(%Snakepit.Marc.Record{leader: "00000nas a2200000 a 4500"})
      :continuing_resources
  """
  @spec material_type(t | Snakepit.Marc.LazyRecord.t()) :: Snakepit.Marc.MARC21.record_kind()
  defdelegate material_type(record), to: Snakepit.Marc.FixedFields

  @doc """
  The leader, 008, 006s and 007s decoded position by position (`Snakepit.Marc.FixedFields`):
  name, raw value and code label of each, non-conforming values listed as issues, never
  raised. A `Snakepit.Marc.LazyRecord` builds only those fields.

      iex> record = %Snakepit.Marc.Record{leader: "00000nam a2200000 a 4500", fields: [
      ...>   Snakepit.Marc.Field.control("008", "920219s1993    caua   j      000 0 eng d")]}
      iex> ff = Snakepit.Marc.Record.fixed_fields(record)
      iex> Enum.find(ff.field_008.positions, &(&1.start == 22)).label
      "Juvenile"
  """
  @spec fixed_fields(t | Snakepit.Marc.LazyRecord.t()) :: Snakepit.Marc.FixedFields.t()
  defdelegate fixed_fields(record), to: Snakepit.Marc.FixedFields, as: :decode
end
