defmodule Snakepit.Pool.Table do
  # The routing table of a pool: an ETS table that callers read to route (Snakepit.Pool.Router),
  # written only by the pool's manager through this module.
  #
  # Rows: `{:size, n}` and one row `{{:slot, i}, handle}` per routable worker, with i dense in
  # 0..n-1 (a leaving worker's slot is filled by the last one). A caller reads a few rows,
  # never the whole list, so routing and the memory of a waiting caller do not grow with the
  # pool. Row writes are ordered so that a concurrent reader sees either the old or the new
  # table: a slot row is in place before `size` covers it, and `size` shrinks before a row goes.
  @moduledoc false

  # slots: index => {worker id, handle, capacity}; index: worker id => slot index.
  defstruct [:ets, slots: %{}, index: %{}, capacity: 0]

  @type t :: %__MODULE__{}

  @doc "An empty table (a new ETS table owned by the calling process)."
  def new do
    ets = :ets.new(:snakepit_pool, [:set, :public, read_concurrency: true])
    :ets.insert(ets, {:size, 0})
    %__MODULE__{ets: ets}
  end

  @doc "Makes worker `id` routable."
  def add(%__MODULE__{} = t, id, handle, capacity) do
    i = map_size(t.slots)
    :ets.insert(t.ets, {{:slot, i}, handle})
    :ets.insert(t.ets, {:size, i + 1})

    %{
      t
      | slots: Map.put(t.slots, i, {id, handle, capacity}),
        index: Map.put(t.index, id, i),
        capacity: t.capacity + capacity
    }
  end

  @doc "Takes worker `id` out of routing; a no-op when it is not routable."
  def remove(%__MODULE__{} = t, id) do
    case Map.pop(t.index, id) do
      {nil, _} ->
        t

      {i, index} ->
        last = map_size(t.slots) - 1
        {_id, _handle, capacity} = t.slots[i]

        {slots, index} =
          if i == last do
            {t.slots, index}
          else
            {moved_id, moved_handle, _} = moved = t.slots[last]
            :ets.insert(t.ets, {{:slot, i}, moved_handle})
            {Map.put(t.slots, i, moved), Map.put(index, moved_id, i)}
          end

        :ets.insert(t.ets, {:size, last})
        :ets.delete(t.ets, {:slot, last})
        %{t | slots: Map.delete(slots, last), index: index, capacity: t.capacity - capacity}
    end
  end

  @doc "Number of routable workers."
  def size(%__MODULE__{slots: slots}), do: map_size(slots)

  @doc "The handle at slot index `i` (0..size-1)."
  def handle_at(%__MODULE__{slots: slots}, i), do: elem(Map.fetch!(slots, i), 1)

  @doc "The handles of the routable workers."
  def handles(%__MODULE__{slots: slots}), do: for({_i, {_id, handle, _}} <- slots, do: handle)

  @doc "Total capacity of the routable workers."
  def capacity(%__MODULE__{capacity: capacity}), do: capacity
end
