//! The read options the Elixir side passes down as a map (validated there, in
//! `Snakepit.Marc.Options`), decoded once per call by `read_options`.

use crate::atoms;
use crate::read_options::{Names, ReadValues};
pub(crate) use crate::read_options::{Read, Shape};
use rustler::{Atom, NifMap, NifResult};
use snakepit_core::chunker::BatchLimits;

mod option_atoms {
    rustler::atoms! { nfc, nfd, replace, drop, lazy, auto }
}

#[derive(NifMap)]
pub(crate) struct ReadConfig {
    mode: Atom,
    validate_utf8: bool,
    to_unicode: bool,
    normalize: Atom,
    marc8_errors: Atom,
    decode_ncrs: bool,
    records: Atom,
    utf8_errors: Atom,
    encoding: Atom,
    repair_directory: bool,
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

impl ReadConfig {
    pub(crate) fn decode(self) -> NifResult<Read> {
        let values = ReadValues {
            mode: self.mode,
            validate_utf8: self.validate_utf8,
            to_unicode: self.to_unicode,
            normalize: self.normalize,
            marc8_errors: self.marc8_errors,
            decode_ncrs: self.decode_ncrs,
            records: self.records,
            utf8_errors: self.utf8_errors,
            encoding: self.encoding,
            repair_directory: self.repair_directory,
        };
        let names = Names {
            strict: atoms::strict(),
            permissive: atoms::permissive(),
            skip: atoms::skip(),
            nfc: option_atoms::nfc(),
            nfd: option_atoms::nfd(),
            replace: option_atoms::replace(),
            drop: option_atoms::drop(),
            lazy: option_atoms::lazy(),
            auto: option_atoms::auto(),
        };
        values.decode(&names).ok_or(rustler::Error::BadArg)
    }
}
