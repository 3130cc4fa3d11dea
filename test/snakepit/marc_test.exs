defmodule Snakepit.MarcTest do
  use ExUnit.Case, async: true
  doctest Snakepit.Marc
  doctest Snakepit.Marc.Record
  doctest Snakepit.Marc.Field
end
