defmodule Snakepit.Marc.FixedFields do
  @moduledoc """
  A record's leader and fixed-length fields, decoded: what
  `Snakepit.Marc.Record.fixed_fields/1` returns.

    * `material_type` - `Snakepit.Marc.Record.material_type/1`.
    * `leader` - the `Snakepit.Marc.Leader`.
    * `field_008` - the 008 as a `Snakepit.Marc.FixedField`, decoded by the material type;
      `nil` when the record has none.
    * `fields_006`, `fields_007` - every 006 and 007, in record order, each decoded by its
      own type byte (006/00 form of material, 007/00 category of material).

  Only bibliographic records have their 008 and 006 decoded: an authority or holdings
  record's 008 has other layouts, which the tables do not carry, so it comes back with
  `type: nil`, no positions and a `:not_bibliographic` issue. 007s are decoded whatever the
  record (holdings records use the bibliographic 007).

  A record with more than one 008 (it is not repeatable) has the first decoded and a
  `:repeated_field` issue on it.
  """

  alias Snakepit.Marc.{Field, FixedField, LazyRecord, Leader, MARC21, Record}

  defstruct [:material_type, :leader, :field_008, fields_006: [], fields_007: []]

  @type t :: %__MODULE__{
          material_type: MARC21.record_kind(),
          leader: Leader.t(),
          field_008: FixedField.t() | nil,
          fields_006: [FixedField.t()],
          fields_007: [FixedField.t()]
        }

  @bibliographic [
    :books,
    :continuing_resources,
    :maps,
    :music,
    :visual_materials,
    :computer_files,
    :mixed_materials
  ]

  @doc """
  The material type of a record (or a bare leader) from leader/06-07, as
  `Snakepit.Marc.MARC21.material_type/1` defines it.

      iex> Snakepit.Marc.FixedFields.material_type(%Snakepit.Marc.Record{leader: "00000ngm a2200000 a 4500"})
      :visual_materials
  """
  @spec material_type(Record.t() | LazyRecord.t() | binary) :: MARC21.record_kind()
  def material_type(%Record{leader: leader}), do: MARC21.material_type(leader || "")
  def material_type(%LazyRecord{} = lazy), do: lazy |> LazyRecord.leader() |> material_type()
  def material_type(leader) when is_binary(leader), do: MARC21.material_type(leader)

  @doc """
  Decodes the leader, the 008 and every 006 and 007 of a record. A `Snakepit.Marc.LazyRecord`
  builds only those fields.

      iex> record = %Snakepit.Marc.Record{leader: "00000cem a2200000 a 4500", fields: [
      ...>   Snakepit.Marc.Field.control("007", "aj canzn"),
      ...>   Snakepit.Marc.Field.control("008", "850423s1984    nyua      a     0   eng  ")]}
      iex> ff = Snakepit.Marc.FixedFields.decode(record)
      iex> type = Enum.find(ff.field_008.positions, &(&1.start == 25))
      iex> {ff.material_type, type.name, type.label}
      {:maps, "Type of cartographic material", "Single map"}
      iex> ff.field_008.issues
      []
      iex> hd(ff.fields_007).type
      "Map"
  """
  @spec decode(Record.t() | LazyRecord.t()) :: t
  def decode(%LazyRecord{} = lazy) do
    build(LazyRecord.leader(lazy), LazyRecord.fields(lazy, ["006", "007", "008"]))
  end

  def decode(%Record{leader: leader, fields: fields}), do: build(leader || "", fields)

  defp build(leader, fields) do
    kind = MARC21.material_type(leader)
    values = fn tag -> for %Field{tag: ^tag, value: v} when is_binary(v) <- fields, do: v end

    %__MODULE__{
      material_type: kind,
      leader: Leader.decode(leader),
      field_008: decode_008(values.("008"), kind),
      fields_006: Enum.map(values.("006"), &decode_006(&1, kind)),
      fields_007: Enum.map(values.("007"), &FixedField.decode_007/1)
    }
  end

  defp decode_008([], _kind), do: nil

  defp decode_008([value | more], kind) do
    decoded =
      if kind in @bibliographic,
        do: FixedField.decode_008(value, kind),
        else: not_bibliographic("008", value, kind)

    if more == [],
      do: decoded,
      else: %{
        decoded
        | issues: decoded.issues ++ [%{problem: :repeated_field, count: length(more) + 1}]
      }
  end

  defp decode_006(value, kind) when kind in @bibliographic, do: FixedField.decode_006(value)
  defp decode_006(value, kind), do: not_bibliographic("006", value, kind)

  defp not_bibliographic(tag, value, kind) do
    %FixedField{tag: tag, value: value, issues: [%{problem: :not_bibliographic, record: kind}]}
  end
end
