//! The read options the Elixir side passes down as a map (validated there, in
//! `Snakepit.Marc.Options`), decoded once per call.

use crate::atoms;
use rustler::{Atom, NifMap, NifResult};
use snakepit_core::chunker::BatchLimits;
use snakepit_core::{Marc8ErrorMode, Marc8Options, Mode, Normalization, ParseOptions};

mod option_atoms {
    rustler::atoms! { nfc, nfd, replace, drop, lazy }
}

/// What a read hands back for each good record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `%Snakepit.Marc.Record{}` with every field built.
    Struct,
    /// `%Snakepit.Marc.LazyRecord{}`: the record's bytes only; fields are built on access.
    Lazy,
}

#[derive(NifMap)]
pub(crate) struct ReadConfig {
    mode: Atom,
    validate_utf8: bool,
    to_unicode: bool,
    normalize: Atom,
    marc8_errors: Atom,
    records: Atom,
}

/// Batch limits for streams, from the same map.
#[derive(NifMap)]
pub(crate) struct BatchConfig {
    batch_size: usize,
    max_batch_bytes: usize,
}

impl BatchConfig {
    pub(crate) fn limits(&self) -> BatchLimits {
        BatchLimits {
            max_records: self.batch_size,
            max_bytes: self.max_batch_bytes,
        }
    }
}

/// Everything a read needs, decoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Read {
    pub mode: Mode,
    pub shape: Shape,
    pub parse: ParseOptions,
    pub marc8: Option<Marc8Options>,
}

impl ReadConfig {
    pub(crate) fn decode(self) -> NifResult<Read> {
        let mode = if self.mode == atoms::strict() {
            Mode::Strict
        } else if self.mode == atoms::permissive() {
            Mode::Permissive
        } else if self.mode == atoms::skip() {
            Mode::Skip
        } else {
            return Err(rustler::Error::BadArg);
        };
        let normalization = if self.normalize == option_atoms::nfc() {
            Normalization::Nfc
        } else if self.normalize == option_atoms::nfd() {
            Normalization::Nfd
        } else {
            Normalization::None
        };
        let on_error = if self.marc8_errors == option_atoms::replace() {
            Marc8ErrorMode::Replace
        } else if self.marc8_errors == option_atoms::drop() {
            Marc8ErrorMode::Drop
        } else {
            Marc8ErrorMode::Strict
        };
        let shape = if self.records == option_atoms::lazy() {
            Shape::Lazy
        } else {
            Shape::Struct
        };
        Ok(Read {
            mode,
            shape,
            parse: ParseOptions {
                validate_utf8: self.validate_utf8,
            },
            marc8: self.to_unicode.then_some(Marc8Options {
                normalization,
                on_error,
            }),
        })
    }
}
