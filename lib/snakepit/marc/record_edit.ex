defmodule Snakepit.Marc.RecordEdit do
  # The editing functions of `Snakepit.Marc.Record` (documented there). Every field put in
  # a record is checked by `FieldCheck.field!/2` against the record's leader, so an edited
  # record holds only what can be written. A `LazyRecord` is built into a `Record` first.
  @moduledoc false

  alias Snakepit.Marc.{FieldCheck, LazyRecord, Record}

  def add_field(record, fields) do
    %Record{fields: existing, leader: leader} = record = editable!(record)
    %{record | fields: existing ++ checked!(fields, leader)}
  end

  def insert_field(record, index, field) when is_integer(index) do
    %Record{fields: fields, leader: leader} = record = editable!(record)
    %{record | fields: List.insert_at(fields, index, FieldCheck.field!(field, leader))}
  end

  def insert_field(_record, index, _field) do
    raise ArgumentError, "expected an integer index, got: #{inspect(index)}"
  end

  # pymarc's Record._sort_fields: a field with a non-numeric tag, or added to a record
  # without fields, goes at the end; otherwise before the first field whose tag is not
  # numeric or whose key (the number, or its first digit when grouped) is greater.
  def add_sorted_field(record, fields, mode) do
    %Record{fields: existing, leader: leader} = record = editable!(record)

    sorted =
      fields
      |> checked!(leader)
      |> Enum.reduce(existing, fn field, acc -> insert_sorted(acc, field, mode) end)

    %{record | fields: sorted}
  end

  defp insert_sorted([], field, _mode), do: [field]

  defp insert_sorted(fields, field, mode) do
    case sort_key(field.tag, mode) do
      nil ->
        fields ++ [field]

      key ->
        {before, rest} =
          Enum.split_while(fields, fn existing ->
            case sort_key(existing.tag, mode) do
              nil -> false
              existing_key -> existing_key <= key
            end
          end)

        before ++ [field | rest]
    end
  end

  defp sort_key(<<a, b, c>> = tag, :ordered) when a in ?0..?9 and b in ?0..?9 and c in ?0..?9,
    do: String.to_integer(tag)

  defp sort_key(<<a, b, c>>, :grouped) when a in ?0..?9 and b in ?0..?9 and c in ?0..?9,
    do: a - ?0

  defp sort_key(_tag, _mode), do: nil

  def remove_fields(record, which) do
    %Record{fields: fields} = record = editable!(record)
    selected? = field_selector!(which)
    %{record | fields: Enum.reject(fields, selected?)}
  end

  def update_fields(record, which, fun) when is_function(fun, 1) do
    %Record{fields: fields, leader: leader} = record = editable!(record)
    selected? = field_selector!(which)

    fields =
      Enum.map(fields, fn field ->
        if selected?.(field), do: FieldCheck.field!(fun.(field), leader), else: field
      end)

    %{record | fields: fields}
  end

  def update_fields(_record, _which, fun) do
    raise ArgumentError, "expected a one-argument function, got: #{inspect(fun)}"
  end

  # A new leader/09 `a` makes the record UTF-8: its fields are checked against it.
  def put_leader(record, leader) do
    %Record{fields: fields, leader: old} = record = editable!(record)
    leader = FieldCheck.leader!(leader)

    if utf8?(leader) and not utf8?(old), do: Enum.each(fields, &FieldCheck.field!(&1, leader))
    %{record | leader: leader}
  end

  defp utf8?(<<_::binary-size(9), ?a, _::binary>>), do: true
  defp utf8?(_leader), do: false

  defp checked!(fields, leader) when is_list(fields),
    do: Enum.map(fields, &FieldCheck.field!(&1, leader))

  defp checked!(field, leader), do: [FieldCheck.field!(field, leader)]

  defp field_selector!(tag) when is_binary(tag) do
    FieldCheck.tag!(tag)
    &(&1.tag == tag)
  end

  defp field_selector!(tags) when is_list(tags) do
    Enum.each(tags, &FieldCheck.tag!/1)
    &(&1.tag in tags)
  end

  defp field_selector!(fun) when is_function(fun, 1), do: &(!!fun.(&1))

  defp field_selector!(other) do
    raise ArgumentError,
          "expected a tag, a list of tags or a one-argument predicate, got: #{inspect(other)}"
  end

  @doc "A `Record` to edit: itself, or a `LazyRecord` built into one."
  def editable!(%Record{} = record), do: record
  def editable!(%LazyRecord{} = lazy), do: LazyRecord.to_record(lazy)

  def editable!(other) do
    raise ArgumentError,
          "expected a %Snakepit.Marc.Record{} or a %Snakepit.Marc.LazyRecord{}, got: " <>
            inspect(other, limit: 5)
  end
end
