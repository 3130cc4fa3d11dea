//! What a read is asked to do, decoded from the option values the Elixir side passes down
//! (validated there, in `Snakepit.Marc.Options`). Pure (no rustler): the names the values
//! are compared with are a type parameter, atoms in the NIF (`options`), strings in
//! `tests/pure.rs`.

use snakepit_core::recover::{EncodingPolicy, Recovery, Utf8Errors};
use snakepit_core::{Marc8ErrorMode, Marc8Options, Mode, Normalization, ParseOptions};

/// What a read hands back for each good record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `%Snakepit.Marc.Record{}` with every field built.
    Struct,
    /// `%Snakepit.Marc.LazyRecord{}`: the record's bytes only; fields are built on access.
    Lazy,
}

/// Everything a read needs, decoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Read {
    pub mode: Mode,
    pub shape: Shape,
    pub parse: ParseOptions,
    pub marc8: Option<Marc8Options>,
    pub recovery: Recovery,
}

/// The option values of one read, with names of type `N`.
pub(crate) struct ReadValues<N> {
    pub mode: N,
    pub validate_utf8: bool,
    pub to_unicode: bool,
    pub normalize: N,
    pub marc8_errors: N,
    pub decode_ncrs: bool,
    pub records: N,
    pub utf8_errors: N,
    pub encoding: N,
    pub repair_directory: bool,
}

/// The names the values are told apart by.
pub(crate) struct Names<N> {
    pub strict: N,
    pub permissive: N,
    pub skip: N,
    pub nfc: N,
    pub nfd: N,
    pub replace: N,
    pub drop: N,
    pub lazy: N,
    pub auto: N,
}

impl<N: PartialEq> ReadValues<N> {
    /// The read, or `None` for a mode other than strict, permissive and skip. Any other
    /// value means the default: no normalization, strict MARC-8 errors, struct records, no
    /// repairs.
    pub(crate) fn decode(&self, names: &Names<N>) -> Option<Read> {
        let mode = if self.mode == names.strict {
            Mode::Strict
        } else if self.mode == names.permissive {
            Mode::Permissive
        } else if self.mode == names.skip {
            Mode::Skip
        } else {
            return None;
        };
        let normalization = if self.normalize == names.nfc {
            Normalization::Nfc
        } else if self.normalize == names.nfd {
            Normalization::Nfd
        } else {
            Normalization::None
        };
        let on_error = if self.marc8_errors == names.replace {
            Marc8ErrorMode::Replace
        } else if self.marc8_errors == names.drop {
            Marc8ErrorMode::Drop
        } else {
            Marc8ErrorMode::Strict
        };
        let shape = if self.records == names.lazy {
            Shape::Lazy
        } else {
            Shape::Struct
        };
        let utf8_errors = if self.utf8_errors == names.replace {
            Utf8Errors::Replace
        } else if self.utf8_errors == names.drop {
            Utf8Errors::Drop
        } else {
            Utf8Errors::Error
        };
        let encoding = if self.encoding == names.auto {
            EncodingPolicy::Auto
        } else {
            EncodingPolicy::Declared
        };
        Some(Read {
            mode,
            shape,
            parse: ParseOptions {
                validate_utf8: self.validate_utf8,
            },
            marc8: self.to_unicode.then_some(Marc8Options {
                normalization,
                on_error,
                decode_ncrs: self.decode_ncrs,
            }),
            recovery: Recovery {
                utf8_errors,
                encoding,
                rebuild_directory: self.repair_directory,
            },
        })
    }
}
