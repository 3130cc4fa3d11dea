defmodule Snakepit.Test.Corpus do
  @moduledoc false
  # The shared corpus lives beside the project (../shared/corpus); tests read it in place.
  @root Path.expand("../../../shared/corpus", __DIR__)

  def root, do: @root
  def path(rel), do: Path.join(@root, rel)
  def read!(rel), do: File.read!(path(rel))

  @counts %{
    "real/loc_bibliographic.mrc" => 386,
    "real/loc_authority.mrc" => 150,
    "real/loc_edge_cases.mrc" => 50,
    "synthetic/realistic_2000.mrc" => 2000,
    "synthetic/records_10k.mrc" => 10_000,
    "synthetic/encoding_marc8_ascii.mrc" => 3,
    "synthetic/encoding_mixed_scripts.mrc" => 3,
    "synthetic/encoding_replacement_chars.mrc" => 3,
    "synthetic/encoding_utf8_titles.mrc" => 6,
    "marc8/pymarc_marc.dat" => 20,
    "marc8/pymarc_marc8.dat" => 1,
    "marc8/pymarc_marc8-to-unicode.dat" => 1,
    "marc8/rustmarc_marc8_sample.mrc" => 1,
    "formats/pymarc_test.dat" => 10,
    "formats/pymarc_one.dat" => 1
  }

  @doc "Well-formed corpus files and their record counts."
  def good_files, do: @counts

  def bad_files, do: @root |> Path.join("bad/*") |> Path.wildcard() |> Enum.sort()
end
