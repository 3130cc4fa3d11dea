//! Every native error becomes an Elixir term here and nowhere else: parse and writer
//! errors, stream open failures and thread-pool refusals alike (Explorer's one
//! `ExplorerError` conversion is the model). A NIF that fails hands back
//! `NativeError::to_term` (`{:error, reason}`) or, inside `Result`, the reason alone.

use crate::atoms;
use rustler::{Atom, Encoder, Env, Term};
use snakepit_core::MarcError;

mod error_atoms {
    rustler::atoms! {
        enoent, eacces, eisdir, io_error,
        unknown_command, invalid_arguments, panic, closed, cancelled,
    }
}

/// What a native call can fail with, and so which reason term the caller sees.
#[derive(Debug)]
pub(crate) enum NativeError {
    /// A record that cannot be read or written: `%Snakepit.Marc.ParseError{}`.
    Marc(MarcError),
    /// A term of the wrong shape given to a writer: the message (Elixir raises
    /// `ArgumentError` with it).
    Shape(String),
    /// A stream source that could not be opened: `{:enoent | :eacces | :eisdir | :io_error,
    /// message}`.
    Io(std::io::ErrorKind, String),
    /// A value out of range, e.g. a thread count: the message.
    Config(String),
    /// Thread pool: no such command, `{:unknown_command, command}`.
    UnknownCommand(Atom),
    /// Thread pool: arguments a command cannot take, `{:invalid_arguments, "command"}`.
    InvalidArguments(&'static str),
    /// Thread pool: the job panicked, `{:panic, message}`.
    Panic(String),
    /// Thread pool: the worker stopped while the job ran, `:closed`.
    #[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
    Closed,
    /// Thread pool: the caller stopped waiting, `:cancelled`.
    Cancelled,
    /// An extraction spec that does not parse: `{output_index, position, expected, found}`
    /// (`found` is `nil` at the end of the string).
    Spec(usize, snakepit_core::extract::SpecError),
}

impl NativeError {
    /// `{:error, reason}`.
    pub(crate) fn to_term<'a>(&self, env: Env<'a>) -> Term<'a> {
        (atoms::error(), self.reason(env)).encode(env)
    }

    /// The reason alone, as `Result<_, NativeError>` returns it inside `{:error, reason}`.
    pub(crate) fn reason<'a>(&self, env: Env<'a>) -> Term<'a> {
        match self {
            NativeError::Marc(e) => parse_error_term(env, e),
            NativeError::Shape(message) | NativeError::Config(message) => message.encode(env),
            NativeError::Io(kind, message) => (io_reason(*kind), message).encode(env),
            NativeError::UnknownCommand(command) => {
                (error_atoms::unknown_command(), *command).encode(env)
            }
            NativeError::InvalidArguments(command) => {
                (error_atoms::invalid_arguments(), *command).encode(env)
            }
            NativeError::Panic(message) => (error_atoms::panic(), message).encode(env),
            NativeError::Closed => error_atoms::closed().encode(env),
            NativeError::Cancelled => error_atoms::cancelled().encode(env),
            NativeError::Spec(output, e) => {
                let found = e.found.map(|c| c.to_string());
                (*output, e.position, e.expected, found).encode(env)
            }
        }
    }

    /// A caught panic's payload as an error: its message when it has one.
    pub(crate) fn from_panic(payload: Box<dyn std::any::Any + Send>) -> NativeError {
        let message = if let Some(s) = payload.downcast_ref::<&str>() {
            s.to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "native job panicked".to_string()
        };
        NativeError::Panic(message)
    }
}

impl Encoder for NativeError {
    fn encode<'a>(&self, env: Env<'a>) -> Term<'a> {
        self.reason(env)
    }
}

impl From<MarcError> for NativeError {
    fn from(e: MarcError) -> Self {
        NativeError::Marc(e)
    }
}

/// A message about a term of the wrong shape.
impl From<String> for NativeError {
    fn from(message: String) -> Self {
        NativeError::Shape(message)
    }
}

impl From<std::io::Error> for NativeError {
    fn from(e: std::io::Error) -> Self {
        NativeError::Io(e.kind(), e.to_string())
    }
}

fn io_reason(kind: std::io::ErrorKind) -> Atom {
    match kind {
        std::io::ErrorKind::NotFound => error_atoms::enoent(),
        std::io::ErrorKind::PermissionDenied => error_atoms::eacces(),
        std::io::ErrorKind::IsADirectory => error_atoms::eisdir(),
        _ => error_atoms::io_error(),
    }
}

/// `{:error, %ParseError{}}` for `error`, without giving it up (permissive items, lists of
/// errors).
pub(crate) fn marc_error_tuple<'a>(env: Env<'a>, error: &MarcError) -> Term<'a> {
    (atoms::error(), parse_error_term(env, error)).encode(env)
}

/// The atom Elixir sees for an error kind (`:invalid_utf8`, ...).
pub(crate) fn kind_atom(env: Env<'_>, kind: snakepit_core::ErrorKind) -> Atom {
    Atom::from_str(env, kind.name()).expect("atom")
}

/// `%Snakepit.Marc.ParseError{}`.
pub(crate) fn parse_error_term<'a>(env: Env<'a>, error: &MarcError) -> Term<'a> {
    let kind = kind_atom(env, error.kind);
    let excerpt = crate::terms::binary_term(env, &error.excerpt);
    let keys = [
        atoms::__struct__().encode(env),
        atoms::__exception__().encode(env),
        atoms::kind().encode(env),
        atoms::record_index().encode(env),
        atoms::byte_offset().encode(env),
        atoms::excerpt().encode(env),
        atoms::detail().encode(env),
    ];
    let values = [
        atoms::parse_error_module().encode(env),
        true.encode(env),
        kind.encode(env),
        error.record_index.encode(env),
        error.byte_offset.encode(env),
        excerpt,
        error.detail.encode(env),
    ];
    Term::map_from_term_arrays(env, &keys, &values).expect("unique keys")
}
