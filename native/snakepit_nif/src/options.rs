//! Decoding of the option terms the Elixir side passes down (already validated there).

use crate::atoms;
use rustler::{Atom, NifResult};
use snakepit_core::Mode;

pub(crate) fn mode(atom: Atom) -> NifResult<Mode> {
    if atom == atoms::strict() {
        Ok(Mode::Strict)
    } else if atom == atoms::permissive() {
        Ok(Mode::Permissive)
    } else if atom == atoms::skip() {
        Ok(Mode::Skip)
    } else {
        Err(rustler::Error::BadArg)
    }
}
