defmodule Snakepit.Marc.Leader do
  @moduledoc """
  A decoded leader: its named positions, each as code and label, from the MARC 21
  bibliographic tables of `Snakepit.Marc.MARC21`.

      iex> leader = Snakepit.Marc.Leader.decode("00714cam a2200205 a 4500")
      iex> {leader.type_of_record, leader.bibliographic_level.label, leader.material_type}
      {%{code: "a", label: "Language material"}, "Monograph/Item", :books}

  Each of `record_status` (05), `type_of_record` (06), `bibliographic_level` (07),
  `type_of_control` (08), `character_coding` (09), `encoding_level` (17),
  `descriptive_cataloging_form` (18) and `multipart_level` (19, multipart resource record
  level) is `%{code: binary, label: binary | nil}`, `label` being `nil` for an undefined
  code (which `issues` reports). `record_length` (00-04) and `base_address` (12-16) are
  integers, `nil` when not digits. `material_type` is
  `Snakepit.Marc.MARC21.material_type/1`'s answer.

  Only bibliographic leaders are decoded position by position. For authority, holdings,
  classification and community information records (leader/06 `z`, `u` `v` `x` `y`, `w`,
  `q`) the bibliographic codes do not apply: `type_of_record` names the kind of record,
  `character_coding` (the same in every format) is decoded, and the other named positions
  are `nil`.

  `issues` lists what does not conform, as `Snakepit.Marc.FixedField` does (a wrong
  length, undefined or obsolete codes, also of the structural positions 10-11 and 20-23);
  decoding never raises.
  """

  alias Snakepit.Marc.{FixedField, LazyRecord, MARC21, Record}

  defstruct [
    :leader,
    :material_type,
    :record_length,
    :record_status,
    :type_of_record,
    :bibliographic_level,
    :type_of_control,
    :character_coding,
    :base_address,
    :encoding_level,
    :descriptive_cataloging_form,
    :multipart_level,
    issues: []
  ]

  @type code :: %{code: binary, label: binary | nil} | nil
  @type t :: %__MODULE__{
          leader: binary,
          material_type: MARC21.record_kind(),
          record_length: non_neg_integer | nil,
          record_status: code,
          type_of_record: code,
          bibliographic_level: code,
          type_of_control: code,
          character_coding: code,
          base_address: non_neg_integer | nil,
          encoding_level: code,
          descriptive_cataloging_form: code,
          multipart_level: code,
          issues: [map]
        }

  @named [
    record_status: 5,
    type_of_record: 6,
    bibliographic_level: 7,
    type_of_control: 8,
    character_coding: 9,
    encoding_level: 17,
    descriptive_cataloging_form: 18,
    multipart_level: 19
  ]

  # Leader/06 of the other MARC 21 formats, which the bibliographic schema does not carry
  # (from the authority, holdings, classification and community information formats).
  @other_kinds %{
    "z" => "Authority data",
    "u" => "Unknown (holdings)",
    "v" => "Multipart item holdings",
    "x" => "Single-part item holdings",
    "y" => "Serial item holdings",
    "w" => "Classification data",
    "q" => "Community information"
  }

  @doc """
  Decodes a leader: a binary, or the leader of a `Snakepit.Marc.Record` or
  `Snakepit.Marc.LazyRecord`.

      iex> l = Snakepit.Marc.Leader.decode("00714cax a2200205 a 4500")
      iex> {l.bibliographic_level, l.issues}
      {%{code: "x", label: nil}, [%{problem: :undefined_code, start: 7, name: "Bibliographic level", value: "x"}]}
      iex> Snakepit.Marc.Leader.decode("01234nz  a2200241n  4500").type_of_record
      %{code: "z", label: "Authority data"}
      iex> Snakepit.Marc.Leader.decode("short").issues
      [%{problem: :wrong_length, expected: 24, actual: 5}]
  """
  @spec decode(binary | Record.t() | LazyRecord.t()) :: t
  def decode(%Record{leader: leader}), do: decode(leader || "")
  def decode(%LazyRecord{} = lazy), do: lazy |> LazyRecord.leader() |> decode()

  def decode(leader) when is_binary(leader) do
    layout = MARC21.leader()
    kind = MARC21.material_type(leader)
    base = %__MODULE__{leader: leader, material_type: kind}
    size_issue = FixedField.length_issue(layout.length, leader)

    {entries, issues} = FixedField.entries("LDR", layout, leader)
    entries = Map.new(entries, &{&1.start, &1})

    common = %{
      base
      | record_length: number(leader, 0, 5),
        base_address: number(leader, 12, 5),
        character_coding: named(entries, 9)
    }

    case Map.fetch(@other_kinds, kind_code(leader)) do
      {:ok, label} ->
        %{common | type_of_record: %{code: kind_code(leader), label: label}, issues: size_issue}

      :error ->
        named = for {key, start} <- @named, do: {key, named(entries, start)}
        struct!(common, [{:issues, size_issue ++ issues} | named])
    end
  end

  defp kind_code(<<_::binary-size(6), c, _::binary>>), do: <<c>>
  defp kind_code(_short), do: nil

  defp named(entries, start) do
    case Map.fetch!(entries, start) do
      %{value: nil} -> nil
      %{value: value, label: label} -> %{code: value, label: label}
    end
  end

  defp number(leader, at, n) when byte_size(leader) >= at + n do
    digits = binary_part(leader, at, n)
    if digits?(digits), do: String.to_integer(digits)
  end

  defp number(_leader, _at, _n), do: nil

  defp digits?(<<d>>) when d in ?0..?9, do: true
  defp digits?(<<d, rest::binary>>) when d in ?0..?9, do: digits?(rest)
  defp digits?(_other), do: false
end
