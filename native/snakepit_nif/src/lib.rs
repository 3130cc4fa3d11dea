mod thread_pool;

#[rustler::nif]
fn native_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

rustler::init!("Elixir.Snakepit.Native");
