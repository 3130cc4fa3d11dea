defmodule Snakepit.Native do
  # NIF stubs only. Every function here is replaced when the library loads; wrappers
  # with documentation and argument checks live in the public modules.
  @moduledoc false
  @on_load :load_nif

  # Test builds load the library built with the Cargo feature `test-hooks`
  # (native/snakepit_nif/src/test_hooks.rs), and only they define the hooks' stubs below:
  # a production library has no such NIFs and this module no such functions.
  @test_build Mix.env() == :test
  @library if @test_build, do: ~c"native/libsnakepit_nif_test", else: ~c"native/libsnakepit_nif"

  def load_nif do
    path = :filename.join(:code.priv_dir(:snakepit), @library)
    :erlang.load_nif(path, 0)
  end

  def native_version, do: :erlang.nif_error(:nif_not_loaded)
  def error_kinds, do: :erlang.nif_error(:nif_not_loaded)
  def repair_kinds, do: :erlang.nif_error(:nif_not_loaded)

  def parse_binary(_binary, _config, _base_offset, _first_index),
    do: :erlang.nif_error(:nif_not_loaded)

  def prepare_binary(_binary, _config, _base_offset, _first_index),
    do: :erlang.nif_error(:nif_not_loaded)

  def prepared_items(_prepared, _tail), do: :erlang.nif_error(:nif_not_loaded)
  def count_binary(_binary, _validate_utf8), do: :erlang.nif_error(:nif_not_loaded)
  def validate_binary(_binary, _config), do: :erlang.nif_error(:nif_not_loaded)
  def scan_binary(_binary), do: :erlang.nif_error(:nif_not_loaded)
  def lazy(_op, _bytes, _tags), do: :erlang.nif_error(:nif_not_loaded)

  def parse_binary_light(_binary, _config, _base_offset, _first_index),
    do: :erlang.nif_error(:nif_not_loaded)

  def stream_next_dirty(_resource), do: :erlang.nif_error(:nif_not_loaded)
  def lazy_dirty(_op, _bytes, _tags), do: :erlang.nif_error(:nif_not_loaded)

  def stream_open_file(_path, _format, _config, _batch, _threads, _capacity, _max_record, _raw),
    do: :erlang.nif_error(:nif_not_loaded)

  def stream_open_push(_config, _batch, _raw),
    do: :erlang.nif_error(:nif_not_loaded)

  # Used by bench/scheduler.exs (MIX_ENV=prod) as well as the tests: in every build.
  def debug_scheduler_watch(_on), do: :erlang.nif_error(:nif_not_loaded)

  if @test_build do
    def debug_hold_scheduler(_ms), do: :erlang.nif_error(:nif_not_loaded)

    def debug_stream_open_panicking(_delay_ms, _notify),
      do: :erlang.nif_error(:nif_not_loaded)
  end

  def stream_feed(_resource, _chunk), do: :erlang.nif_error(:nif_not_loaded)
  def stream_feed_light(_resource, _chunk), do: :erlang.nif_error(:nif_not_loaded)
  def stream_next(_resource), do: :erlang.nif_error(:nif_not_loaded)
  def stream_close(_resource), do: :erlang.nif_error(:nif_not_loaded)

  # Extraction specs: extract_nif.rs.
  def extract_compile(_outputs), do: :erlang.nif_error(:nif_not_loaded)

  def extract_batch(_binary, _extractor, _names, _config, _base_offset, _first_index),
    do: :erlang.nif_error(:nif_not_loaded)

  def extract_batches(_batches, _extractor, _names, _config),
    do: :erlang.nif_error(:nif_not_loaded)

  # The nice value of the engine's threads: threads_nif.rs.
  def native_thread_nice(_nice), do: :erlang.nif_error(:nif_not_loaded)

  def extract_batches_start(_batches, _extractor, _config),
    do: :erlang.nif_error(:nif_not_loaded)

  def extract_batches_finish(_job, _names, _config), do: :erlang.nif_error(:nif_not_loaded)

  def extract_outcomes(_batches, _extractor, _config), do: :erlang.nif_error(:nif_not_loaded)

  def extract_input(_threads, _binary, _extractor, _names, _config, _runs),
    do: :erlang.nif_error(:nif_not_loaded)

  def extract_small_file(_threads, _path, _extractor, _names, _config, _runs, _max_bytes),
    do: :erlang.nif_error(:nif_not_loaded)

  def read_small_file(_path, _max_bytes), do: :erlang.nif_error(:nif_not_loaded)
  def small_batches(_binary, _max_records, _max_bytes), do: :erlang.nif_error(:nif_not_loaded)

  # Validation: lint_nif.rs.
  def lint_compile(_json, _only, _except), do: :erlang.nif_error(:nif_not_loaded)
  def lint_toml_json(_toml), do: :erlang.nif_error(:nif_not_loaded)

  def lint_batch(_binary, _linter, _config, _base_offset, _first_index),
    do: :erlang.nif_error(:nif_not_loaded)

  def lint_batches_start(_batches, _linter, _config), do: :erlang.nif_error(:nif_not_loaded)
  def lint_batches_finish(_job), do: :erlang.nif_error(:nif_not_loaded)
  def lint_input(_binary, _linter, _config, _runs), do: :erlang.nif_error(:nif_not_loaded)

  def lint_small_file(_path, _linter, _config, _runs, _max_bytes),
    do: :erlang.nif_error(:nif_not_loaded)

  # Formats (MARC-in-JSON, MARCXML): formats_nif.rs and stream_nif.rs.
  def records_to_json(_records, _layout, _first, _base), do: :erlang.nif_error(:nif_not_loaded)
  def records_to_xml(_records, _layout, _base), do: :erlang.nif_error(:nif_not_loaded)
  def records_to_iso(_records, _base, _config), do: :erlang.nif_error(:nif_not_loaded)
  def format_frame(_format), do: :erlang.nif_error(:nif_not_loaded)
  def from_json_binary(_binary, _config), do: :erlang.nif_error(:nif_not_loaded)
  def from_xml_binary(_binary, _config), do: :erlang.nif_error(:nif_not_loaded)
  # .mrk and the line dump: formats/mrk.rs.
  def records_to_mrk(_records, _style, _base, _config), do: :erlang.nif_error(:nif_not_loaded)
  def from_mrk_binary(_binary, _config), do: :erlang.nif_error(:nif_not_loaded)

  def stream_open_format(_config, _batch, _capacity, _max_record, _format),
    do: :erlang.nif_error(:nif_not_loaded)

  # ---------------------------------------------------------------------------------------
  # Pools: thread-profile workers and environment (native/snakepit_nif/src/thread_pool.rs)
  # ---------------------------------------------------------------------------------------
  def thread_pool_new(_threads, _notify, _worker_id, _max_requests),
    do: :erlang.nif_error(:nif_not_loaded)

  def thread_pool_max_threads, do: :erlang.nif_error(:nif_not_loaded)
  # Every command the native side runs (its command table, pool_commands.rs).
  def thread_pool_commands, do: :erlang.nif_error(:nif_not_loaded)
  def thread_pool_submit(_pool, _tag, _command, _args), do: :erlang.nif_error(:nif_not_loaded)

  def thread_pool_submit_dirty(_pool, _tag, _command, _args),
    do: :erlang.nif_error(:nif_not_loaded)

  def thread_pool_acquire(_pool, _holder), do: :erlang.nif_error(:nif_not_loaded)
  def thread_pool_release(_slot), do: :erlang.nif_error(:nif_not_loaded)
  def thread_pool_close(_pool), do: :erlang.nif_error(:nif_not_loaded)
  def thread_pool_stop(_pool), do: :erlang.nif_error(:nif_not_loaded)
  def thread_pool_cancel(_ticket), do: :erlang.nif_error(:nif_not_loaded)
  def thread_pool_stats(_pool), do: :erlang.nif_error(:nif_not_loaded)
  def thread_pool_load(_pool), do: :erlang.nif_error(:nif_not_loaded)
  def thread_pool_threads(_pool), do: :erlang.nif_error(:nif_not_loaded)
  def thread_pool_census, do: :erlang.nif_error(:nif_not_loaded)
  def echo(_term), do: :erlang.nif_error(:nif_not_loaded)
  def native_build_info, do: :erlang.nif_error(:nif_not_loaded)
end
