//! NIF wiring only: modules hold the functions, `rustler::init!` registers every
//! `#[rustler::nif]` in the crate.

// Streams allocate and free batch buffers of a few hundred KB at a high rate, from several
// threads. glibc returns such blocks to the OS and faults them back in page by page (about
// 2.5 us per 4 KB page on the VMs we measured); mimalloc keeps them for reuse. Only on the
// targets where it is known to work (the target-specific dependency in Cargo.toml).
#[cfg(any(target_os = "linux", target_os = "macos"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod atoms;
mod budget;
mod error_kinds_nif;
mod errors;
mod extract_nif;
mod formats;
mod items;
mod lazy_nif;
mod lint_nif;
mod native_job;
mod options;
mod parse_nif;
mod pool_commands;
mod prepared;
mod read_options;
mod repair_terms;
mod reply_chunks;
mod scheduler_watch;
mod stream_nif;
mod terms;
#[cfg(feature = "test-hooks")]
mod test_hooks;
mod thread_pool;
mod threads_nif;
mod whole_input;

#[rustler::nif]
fn native_version() -> &'static str {
    let _watch = crate::scheduler_watch::watch("native_version");
    env!("CARGO_PKG_VERSION")
}

rustler::init!("Elixir.Snakepit.Native");
