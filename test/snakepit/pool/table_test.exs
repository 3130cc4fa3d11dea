defmodule Snakepit.Pool.TableTest do
  # The routing table and the wait queue of a pool's manager, alone.
  use ExUnit.Case, async: true

  alias Snakepit.Pool.{Queue, Table}

  defp rows(table) do
    [{:size, n}] = :ets.lookup(table.ets, :size)
    for i <- 0..(n - 1)//1, do: :ets.lookup_element(table.ets, {:slot, i}, 2)
  end

  test "rows stay dense: a leaving worker's row is filled by the last one" do
    t = Enum.reduce(1..4, Table.new(), &Table.add(&2, &1, %{id: &1}, 2))
    assert rows(t) == [%{id: 1}, %{id: 2}, %{id: 3}, %{id: 4}]
    assert Table.capacity(t) == 8

    t = Table.remove(t, 2)
    assert rows(t) == [%{id: 1}, %{id: 4}, %{id: 3}]
    assert :ets.lookup(t.ets, {:slot, 3}) == []
    assert {Table.size(t), Table.capacity(t)} == {3, 6}

    # The moved worker can leave in turn, and so can the last one; unknown ids are no-ops.
    t = t |> Table.remove(4) |> Table.remove(3) |> Table.remove(99)
    assert rows(t) == [%{id: 1}]
    assert Table.handles(t) == [%{id: 1}]
    assert Table.handle_at(t, 0) == %{id: 1}
  end

  test "the queue counts each caller from arrival to its one answer" do
    waiting = :atomics.new(1, signed: true)
    q = Queue.new(waiting)
    count = fn -> :atomics.get(waiting, 1) end

    callers = for _ <- 1..3, do: {spawn(fn -> Process.sleep(:infinity) end), make_ref()}

    q =
      Enum.reduce(callers, q, fn from, q ->
        Queue.arrive(q) && Queue.add(q, from, 60_000, false)
      end)

    assert {Queue.size(q), count.()} == {3, 3}

    # A caller that lost a race goes first.
    late = {self(), make_ref()}
    Queue.arrive(q)
    q = Queue.add(q, late, 60_000, true)
    assert {^late, late_token, q} = Queue.out(q, :w1)
    first = hd(callers)
    assert {^first, first_token, q} = Queue.out(q, :w1)
    # Woken callers stay counted (and their slots promised) until they hold a slot.
    assert {count.(), Queue.pending(q, :w1)} == {4, 2}
    assert {:w1, q} = Queue.settle(q, late_token)
    assert {:w1, q} = Queue.settle(q, first_token)
    assert {nil, q} = Queue.settle(q, first_token)
    assert {count.(), Queue.pending(q, :w1)} == {2, 0}

    # A caller that dies leaves; its timer does not answer it later.
    [_, {dead, _}, last] = callers

    mref =
      q.monitors
      |> Enum.find(fn {_m, qref} -> q.entries[qref].from |> elem(0) == dead end)
      |> elem(0)

    assert {:ok, q} = Queue.caller_down(q, mref)
    assert Queue.caller_down(q, mref) == :error
    assert {Queue.callers(q), count.()} == {[last], 1}

    # A timer for a caller already served finds nothing.
    [{qref, _}] = Map.to_list(q.entries)
    assert {^last, q} = Queue.expire(q, qref)
    assert Queue.expire(q, qref) == :none
    assert Queue.out(q, :w1) == :empty
    assert count.() == 0
  end
end
