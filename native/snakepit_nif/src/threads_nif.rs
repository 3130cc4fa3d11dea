//! The nice value of the threads the engine starts (snakepit_core::threads).

/// Sets it, and builds rayon's global pool (extraction, validation, background frees) with
/// it when this comes before the pool's first use: `true` then. Called once, as the
/// application starts. A dirty scheduler: building the global pool starts its threads.
#[rustler::nif(schedule = "DirtyCpu")]
fn native_thread_nice(nice: i32) -> bool {
    snakepit_core::threads::set_nice(nice);
    rayon::ThreadPoolBuilder::new()
        // Not `snakepit-`: that prefix names the threads a stream or pool starts and stops.
        .thread_name(|i| format!("rayon-snakepit-{i}"))
        .start_handler(|_| snakepit_core::threads::lower_current_thread())
        // Jobs catch their own panics; this only keeps rayon from aborting the VM.
        .panic_handler(|_| {})
        .build_global()
        .is_ok()
}
