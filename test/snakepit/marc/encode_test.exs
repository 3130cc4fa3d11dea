defmodule Snakepit.Marc.EncodeTest do
  use ExUnit.Case, async: true

  alias Snakepit.Marc
  alias Snakepit.Marc.{Field, Record}
  alias Snakepit.Test.Corpus

  test "encode(parse(x)) == x byte for byte for every well-formed record in the corpus" do
    for {file, _count} <- Corpus.good_files() do
      bytes = Corpus.read!(file)
      {:ok, records} = Marc.parse(bytes, to_unicode: false)

      for {record, {offset, len}} <- Enum.zip(records, Marc.scan(bytes)) do
        original = binary_part(bytes, offset, len)
        encoded = record |> Marc.encode() |> IO.iodata_to_binary()
        assert encoded == original, "#{file} @ #{offset}"
      end
    end
  end

  test "edited and built records get recomputed lengths, base address and directory" do
    {:ok, [record]} = Marc.parse(Corpus.read!("formats/pymarc_one.dat"))
    longer = put_in(record["245"]["a"], "A much, much longer title than before /")
    extra = %{longer | fields: longer.fields ++ [Field.data("999", "1", " ", [{"z", "local"}])]}
    bytes = extra |> Marc.encode() |> IO.iodata_to_binary()

    assert {:ok, [%Record{fields: fields, leader: leader}]} = Marc.parse(bytes)
    assert fields == extra.fields
    # Only the length and base address change in the leader.
    assert binary_part(leader, 5, 7) == binary_part(extra.leader, 5, 7)
    assert binary_part(leader, 17, 7) == binary_part(extra.leader, 17, 7)
    assert String.to_integer(binary_part(bytes, 0, 5)) == byte_size(bytes)
    base = String.to_integer(binary_part(bytes, 12, 5))
    assert base == 24 + 12 * length(extra.fields) + 1
    assert :binary.at(bytes, base - 1) == 0x1E

    built = %Record{
      leader: "     nam a22     4a 4500",
      fields: [Field.control("001", "x1"), Field.data("245", "0", "0", [{"a", "Built"}])]
    }

    assert {:ok, [%Record{fields: fields}]} =
             built |> Marc.encode() |> IO.iodata_to_binary() |> Marc.parse()

    assert fields == built.fields
  end

  test "malformed records raise naming the problem" do
    assert_raise ArgumentError, ~r/leader must be a 24-byte binary/, fn ->
      Marc.encode(%Record{leader: "short", fields: []})
    end

    assert_raise ArgumentError, ~r/record 0: field 0: \(245\) subfield 0 must be/, fn ->
      Marc.encode(%Record{
        leader: String.duplicate(" ", 24),
        fields: [%Field{tag: "245", ind1: " ", ind2: " ", subfields: [{"ab", "x"}]}]
      })
    end

    assert_raise Snakepit.Marc.ParseError,
                 ~r/too_large .*field 0 \(001\) .*ISO 2709 allows 9999/,
                 fn ->
                   big = String.duplicate("x", 10_000)

                   Marc.encode(%Record{
                     leader: String.duplicate(" ", 24),
                     fields: [Field.control("001", big)]
                   })
                 end
  end
end
