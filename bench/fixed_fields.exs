# Records/s of leader and fixed-field decoding (docs/fixed-fields.md) on one file:
# Record.fixed_fields/1 on structs and on lazy records, Leader.decode/1, material_type/1.
#
#     FILE=../shared/corpus/real/loc_bibliographic.mrc MIX_ENV=prod mix run bench/fixed_fields.exs
#
# Each figure is the second of two runs over every record of the file.
alias Snakepit.Marc.{Leader, Record}
path = System.get_env("FILE", "../shared/corpus/real/loc_bibliographic.mrc")
records = Snakepit.Marc.parse!(File.read!(path))
lazies = Snakepit.Marc.parse!(File.read!(path), records: :lazy)
n = length(records)

t = fn label, list, f ->
  Enum.each(list, f)
  {us, _} = :timer.tc(fn -> Enum.each(list, f) end)
  IO.puts("#{label}: #{round(n / (us / 1_000_000))} rec/s (#{n} records)")
end

t.("fixed_fields/1, Record", records, &Record.fixed_fields/1)
t.("fixed_fields/1, LazyRecord", lazies, &Record.fixed_fields/1)
t.("Leader.decode/1", records, &Leader.decode/1)
t.("material_type/1", records, &Record.material_type/1)
