//! The engine's error kinds as Elixir sees them: `ErrorKind::ALL` in order, each made an
//! atom by `errors::kind_atom`, as `errors::parse_error_term` spells the `kind` of every
//! `%Snakepit.Marc.ParseError{}`. Elixir's own list (`Snakepit.Marc.ParseError.kinds/0`)
//! and the docs are checked against this by a test, so they cannot drift from the Rust enum.

use rustler::{Atom, Env};
use snakepit_core::ErrorKind;

#[rustler::nif]
fn error_kinds(env: Env<'_>) -> Vec<Atom> {
    let _watch = crate::scheduler_watch::watch("error_kinds");
    ErrorKind::ALL
        .iter()
        .map(|kind| crate::errors::kind_atom(env, *kind))
        .collect()
}
