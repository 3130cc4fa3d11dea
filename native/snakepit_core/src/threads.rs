//! The OS priority of the threads the engine starts. Native work shares the machine's cores
//! with the BEAM's schedulers; on a busy machine the kernel otherwise gives a parse thread
//! and a scheduler the same share, and a timer on the scheduler fires late. A positive nice
//! value makes the kernel run the schedulers first whenever both want a core, at no cost
//! when the cores are free. Linux only: there, nice is per thread (elsewhere setpriority
//! would lower the whole VM, so it is left alone).

use std::sync::atomic::{AtomicI32, Ordering};

/// Highest nice value (the lowest priority) the OS knows.
pub const MAX_NICE: i32 = 19;

static NICE: AtomicI32 = AtomicI32::new(0);

/// Sets the nice value the engine's threads take when they start (0 to [`MAX_NICE`]; other
/// values are clamped). Threads already running keep theirs.
pub fn set_nice(nice: i32) {
    NICE.store(nice.clamp(0, MAX_NICE), Ordering::Relaxed);
}

/// The nice value threads take when they start.
pub fn nice() -> i32 {
    NICE.load(Ordering::Relaxed)
}

/// Lowers the calling thread to [`nice()`] (never raises it: a thread already nicer keeps
/// its value): the first thing each thread the engine starts does. A failure (a sandbox
/// that forbids it) leaves the thread as it was.
pub fn lower_current_thread() {
    let nice = nice();
    if nice > 0 {
        lower(nice);
    }
}

#[cfg(target_os = "linux")]
fn lower(nice: i32) {
    // SAFETY: plain syscalls on the calling thread; gettid cannot fail, and setpriority on
    // our own thread id only ever lowers our own priority (raising it again would need
    // privileges, which is why threads are lowered once, at start).
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        // Only ever lower: a VM already started at a higher nice value keeps it.
        if nice > libc::getpriority(libc::PRIO_PROCESS, tid) {
            libc::setpriority(libc::PRIO_PROCESS, tid, nice);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn lower(_nice: i32) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn own_nice() -> i32 {
        // SAFETY: reads the calling thread's priority.
        unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::getpriority(libc::PRIO_PROCESS, tid)
        }
    }

    #[test]
    fn a_started_thread_takes_the_nice_value_and_others_are_left_alone() {
        set_nice(7);
        let lowered = std::thread::spawn(|| {
            lower_current_thread();
            own_nice()
        })
        .join()
        .unwrap();
        assert_eq!(lowered, 7.max(own_nice()));
        set_nice(0);
        let untouched = std::thread::spawn(|| {
            lower_current_thread();
            own_nice()
        })
        .join()
        .unwrap();
        assert_eq!(untouched, own_nice());
        set_nice(99);
        assert_eq!(nice(), MAX_NICE);
        set_nice(0);
    }
}
