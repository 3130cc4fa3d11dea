defmodule Snakepit.JSONTest do
  use ExUnit.Case, async: true
  alias Snakepit.JSON

  test "encodes the shapes reports use" do
    assert JSON.encode!(%{b: [1, 2.5, nil], a: true, c: "x"}) ==
             ~s({"a":true,"b":[1,2.5,null],"c":"x"})

    assert JSON.encode!(%{"k" => :atom}) == ~s({"k":"atom"})
    assert JSON.encode!([]) == "[]"
    assert JSON.encode!(%{}) == "{}"
  end

  test "escapes quotes, backslashes and control characters, keeps UTF-8" do
    assert JSON.encode!(~s(a"b\\c\n\u0001é)) == ~s("a\\"b\\\\c\\n\\u0001é")
  end

  test "rejects what JSON cannot hold" do
    assert_raise ArgumentError, fn -> JSON.encode!(<<0xFF>>) end
    assert_raise ArgumentError, fn -> JSON.encode!({1, 2}) end
  end

  test "output is valid JSON by Python's parser" do
    if python = System.find_executable("python3") do
      json = JSON.encode!(%{"name" => "x\"y", "n" => [1, -2, 3.25], "ok" => false, "z" => nil})

      {out, 0} =
        System.cmd(python, ["-c", "import json,sys; print(json.loads(sys.argv[1])['name'])", json])

      assert out == "x\"y\n"
    end
  end
end
