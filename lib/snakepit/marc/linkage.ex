defmodule Snakepit.Marc.Linkage do
  # 880 linkage through $6 (MARC 21 "Linkage", Appendix A): a field and its alternate
  # graphic representation carry `$6` `TAG-NN`, each naming the other's tag (the original
  # field names `880`, the 880 names the original's tag) and the same occurrence number NN.
  # NN `00` marks an 880 with no original field. The functions are documented on
  # `Snakepit.Marc.Record`.
  @moduledoc false

  alias Snakepit.Marc.Field

  @doc "`{tag, occurrence}` of a field's first `$6`, `:none` without one, `:malformed`."
  def link(%Field{value: nil} = field) do
    case field["6"] do
      nil -> :none
      six -> parse(six)
    end
  end

  def link(%Field{}), do: :none

  defp parse(<<tag::binary-size(3), "-", nn::binary-size(2), rest::binary>>)
       when rest == "" or binary_part(rest, 0, 1) == "/" do
    if digits?(tag) and digits?(nn), do: {tag, nn}, else: :malformed
  end

  defp parse(_six), do: :malformed

  defp digits?(s), do: s =~ ~r/\A[0-9]+\z/

  def linked_fields(fields, %Field{tag: "880"} = field) do
    case link(field) do
      {tag, nn} when nn != "00" ->
        Enum.filter(fields, &(&1.tag == tag and link(&1) == {"880", nn}))

      _ ->
        []
    end
  end

  def linked_fields(fields, %Field{tag: tag} = field) do
    case link(field) do
      {"880", nn} when nn != "00" ->
        Enum.filter(fields, &(&1.tag == "880" and link(&1) == {tag, nn}))

      _ ->
        []
    end
  end

  def alternate_graphic(fields, tag) do
    Enum.filter(fields, fn field ->
      field.tag == "880" and match?({^tag, _}, link(field))
    end)
  end

  # Every $6 that does not lead where it should, in field order.
  def problems(fields) do
    indexed = Enum.with_index(fields)
    links = for {field, i} <- indexed, do: {i, field.tag, link(field), field["6"]}

    Enum.flat_map(links, fn
      {_i, _tag, :none, _six} ->
        []

      {i, tag, :malformed, six} ->
        [
          problem(
            :malformed,
            i,
            tag,
            six,
            "$6 is not TAG-NN (three digits, a hyphen, two digits)"
          )
        ]

      {_i, "880", {_tag, "00"}, _six} ->
        []

      {i, "880", {tag, nn}, six} ->
        cond do
          Enum.any?(links, &match?({_, ^tag, {"880", ^nn}, _}, &1)) ->
            []

          other = Enum.find(links, &unanswered?(&1, nn, links)) ->
            [
              problem(
                :mismatched,
                i,
                "880",
                six,
                "$6 names #{tag}, but field #{elem(other, 0)} (#{elem(other, 1)}) links to 880-#{nn}"
              )
            ]

          true ->
            [problem(:orphan_880, i, "880", six, "no #{tag} field has $6 880-#{nn}")]
        end

      {i, tag, {"880", nn}, six} ->
        if Enum.any?(links, &match?({_, "880", {^tag, ^nn}, _}, &1)),
          do: [],
          else: [problem(:missing_880, i, tag, six, "no 880 field has $6 #{tag}-#{nn}")]

      {i, tag, {other, _nn}, six} ->
        [problem(:mismatched, i, tag, six, "$6 of a #{tag} field names #{other}, not 880")]
    end)
  end

  # A field other than an 880 that links to 880-NN, and that no 880 answers.
  defp unanswered?({_, tag, {"880", nn}, _}, nn, links) when tag != "880",
    do: not Enum.any?(links, &match?({_, "880", {^tag, ^nn}, _}, &1))

  defp unanswered?(_link, _nn, _links), do: false

  defp problem(kind, index, tag, six, detail),
    do: %{kind: kind, index: index, tag: tag, link: six, detail: detail}
end
