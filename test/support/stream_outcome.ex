defmodule Snakepit.Test.StreamOutcome do
  @moduledoc false
  # What a stream of items gives, to compare two ways of reading the same input: the
  # items it gives before it ends or raises a `Snakepit.Marc.ParseError`, and that error.

  @spec outcome(Enumerable.t()) :: {list, Snakepit.Marc.ParseError.t() | nil}
  def outcome(stream) do
    key = make_ref()
    Process.put(key, [])

    try do
      Enum.each(stream, &Process.put(key, [&1 | Process.get(key)]))
      {Enum.reverse(Process.get(key)), nil}
    rescue
      e in Snakepit.Marc.ParseError -> {Enum.reverse(Process.get(key)), e}
    after
      Process.delete(key)
    end
  end
end
