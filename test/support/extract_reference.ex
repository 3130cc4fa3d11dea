defmodule Snakepit.Test.ExtractReference do
  @moduledoc false
  # The extraction semantics written plainly over %Record{}, from traject's MarcExtractor and
  # extract_marc macro, to check the native extractor against. Slow on purpose: no tables,
  # no early exits, one rule per clause.

  alias Snakepit.Marc.{Field, Record}

  # Spec strings of the grammar in docs/extraction.md, parsed with regexes as traject does.
  @field ~r/\A([A-Za-z0-9]{3})(?:\|([a-z0-9 *])([a-z0-9 *])\|)?([a-z0-9]*)\z/
  @bytes ~r/\A([A-Za-z0-9]{3})\[(\d+)(?:-(\d+))?\]\z/
  @leader ~r/\ALDR(?:\[(\d+)(?:-(\d+))?\])?\z/

  def parse(spec) do
    spec
    |> String.split(~r/\s*:\s*/)
    |> Enum.map(fn part ->
      cond do
        m = Regex.run(@leader, part) -> {:leader, slice(Enum.drop(m, 1))}
        m = Regex.run(@field, part) -> field_spec(m)
        m = Regex.run(@bytes, part) -> {:bytes, Enum.at(m, 1), slice(Enum.drop(m, 2))}
      end
    end)
  end

  defp field_spec([_, tag, i1, i2, codes]) do
    ind = fn i -> if i in ["", "*"], do: nil, else: i end
    {:field, tag, ind.(i1), ind.(i2), if(codes == "", do: nil, else: String.graphemes(codes))}
  end

  defp slice([]), do: nil
  defp slice([a]), do: {String.to_integer(a), nil}
  defp slice([a, b]), do: {String.to_integer(a), String.to_integer(b)}

  def extract(%Record{} = record, spec, opts) do
    specs = parse(spec)
    alt = Keyword.get(opts, :alternate_script, :include)
    sep = Keyword.get(opts, :separator, " ")

    leader = for {:leader, s} <- specs, v = take(record.leader, s), v != nil, do: v

    fields =
      Enum.flat_map(record.fields, fn field ->
        tag = effective_tag(field, alt)

        if tag == nil,
          do: [],
          else: Enum.flat_map(specs, &values(&1, field, tag, sep))
      end)

    (leader ++ fields) |> finish(opts)
  end

  # The tag a field counts as, or nil when it does not count at all.
  defp effective_tag(%Field{tag: "880"} = f, alt) when alt != false do
    case Enum.find(f.subfields, fn {code, _} -> code == "6" end) do
      {_, six} -> binary_part(six, 0, min(3, byte_size(six)))
      nil -> "880"
    end
  end

  defp effective_tag(_field, :only), do: nil
  defp effective_tag(%Field{tag: tag}, _alt), do: tag

  defp values({:leader, _}, _field, _tag, _sep), do: []

  defp values(spec, %Field{value: value}, tag, _sep) when is_binary(value) do
    cond do
      not tag_matches?(elem(spec, 1), tag) -> []
      match?({:bytes, _, _}, spec) -> List.wrap(take(value, elem(spec, 2)))
      true -> [value]
    end
  end

  defp values({:field, pattern, i1, i2, codes} = spec, field, tag, sep) do
    if tag_matches?(pattern, tag) and (i1 == nil or i1 == field.ind1) and
         (i2 == nil or i2 == field.ind2),
       do: collect(field, codes, joinable?(spec), sep),
       else: []
  end

  defp values({:bytes, pattern, _}, field, tag, sep) do
    if tag_matches?(pattern, tag), do: collect(field, nil, true, sep), else: []
  end

  defp joinable?({:field, _, _, _, codes}), do: codes == nil or length(codes) != 1

  defp collect(field, codes, joinable, sep) do
    selected = for {code, v} <- field.subfields, codes == nil or code in codes, do: v

    cond do
      selected == [] -> []
      sep != nil and joinable -> [Enum.join(selected, sep)]
      true -> selected
    end
  end

  defp tag_matches?(pattern, tag) when byte_size(tag) == 3 do
    Enum.zip(String.to_charlist(pattern), String.to_charlist(tag))
    |> Enum.all?(fn {p, t} -> p == ?X or p == t end)
  end

  defp tag_matches?(_pattern, _tag), do: false

  # Ruby's byteslice, as traject uses it.
  defp take(value, nil), do: value
  defp take(value, {a, nil}) when a < byte_size(value), do: binary_part(value, a, 1)
  defp take(_value, {_a, nil}), do: nil
  defp take(value, {a, _b}) when a > byte_size(value), do: nil
  defp take(value, {a, b}), do: binary_part(value, a, min(b + 1, byte_size(value)) - a)

  defp finish(values, opts) do
    values = if opts[:first], do: Enum.take(values, 1), else: values
    values = if opts[:trim_punctuation], do: Enum.map(values, &trim/1), else: values
    values = if Keyword.get(opts, :dedupe, true), do: Enum.uniq(values), else: values

    case {values, Keyword.get(opts, :default)} do
      {[], default} when default != nil -> [default]
      _ -> values
    end
  end

  # traject's Marc21.trim_punctuation, with its regexes (Ruby's \Z is (?=\n?\z)).
  def trim(s) do
    s
    |> then(&Regex.replace(~r/ *[ ,\/;:] *(?=\n?\z)/u, &1, "", global: false))
    |> then(
      &Regex.replace(~r/( *[\p{L}\p{M}\p{Nd}\p{Pc}]{3,})\. *(?=\n?\z)/u, &1, "\\1", global: false)
    )
    |> then(&Regex.replace(~r/\A\[?([^\[\]]+)\]?(?=\n?\z)/u, &1, "\\1", global: false))
    |> then(&Regex.replace(~r/\A[\x00\t\n\v\f\r ]+|[\x00\t\n\v\f\r ]+\z/, &1, ""))
  end
end
