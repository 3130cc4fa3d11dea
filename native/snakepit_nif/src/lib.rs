//! NIF wiring only: modules hold the functions, `rustler::init!` registers every
//! `#[rustler::nif]` in the crate.

mod atoms;
mod formats_nif;
mod items;
mod options;
mod parse_nif;
mod stream_nif;
mod terms;
mod thread_pool;

#[rustler::nif]
fn native_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

rustler::init!("Elixir.Snakepit.Native");
