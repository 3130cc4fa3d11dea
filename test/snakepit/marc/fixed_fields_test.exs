defmodule Snakepit.Marc.FixedFieldsTest do
  use ExUnit.Case, async: true

  alias Snakepit.Marc.{Field, FixedField, FixedFields, LazyRecord, Leader, Record}

  doctest Snakepit.Marc.Leader
  doctest Snakepit.Marc.FixedField
  doctest Snakepit.Marc.FixedFields
end
