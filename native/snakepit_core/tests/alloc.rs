//! (d) A claimed length never makes the engine allocate more than the input holds: leaders
//! claiming 99999 bytes, base addresses of 99999 and directory entries of 9999 bytes at
//! offset 99999 on inputs of a few dozen bytes. Measured with a counting allocator that
//! records the largest single allocation made by the current thread while tracking is on.

mod common;

use common::check_read_invariants;
use proptest::prelude::*;
use snakepit_core::{read_all, Item, Mode, ParseOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = TRACKING.try_with(|t| {
        if t.get() {
            let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The largest single allocation `f` makes on this thread.
fn largest_allocation(f: impl FnOnce()) -> usize {
    LARGEST.with(|l| l.set(0));
    TRACKING.with(|t| t.set(true));
    f();
    TRACKING.with(|t| t.set(false));
    LARGEST.with(|l| l.get())
}

/// Reads `input` in every mode and re-encodes every good record, as a caller would.
fn exercise(input: &[u8]) -> usize {
    let mut items_len = 0;
    for mode in [Mode::Strict, Mode::Permissive, Mode::Skip] {
        if let Ok((items, _)) = read_all(input, mode, ParseOptions::default()) {
            items_len = items_len.max(items.len());
            for r in items.iter().flatten() {
                let _ = r.to_owned_record().encode();
            }
        }
    }
    items_len
}

/// What reading `input` may allocate at most in one piece: the item vector (at most
/// twice the items, each an `Item`), a copy of the input's size (an encoded record), an
/// error message, and slack. Nothing in it depends on what the input claims.
fn bound(input: &[u8], items: usize) -> usize {
    2 * items.max(4) * std::mem::size_of::<Item<'_>>() + 2 * input.len() + 1024
}

#[test]
fn the_counter_sees_allocations() {
    let seen = largest_allocation(|| {
        std::hint::black_box(Vec::<u8>::with_capacity(99_999));
    });
    assert!(seen >= 99_999, "{seen}");
    // And would see a claim turned into a size.
    let claimed = largest_allocation(|| {
        let len = snakepit_core::record::read_digits(b"99999").unwrap();
        std::hint::black_box(Vec::<u8>::with_capacity(len));
    });
    assert!(claimed >= 99_999);
}

#[test]
fn huge_claims_on_tiny_inputs_allocate_little() {
    let inputs: &[&[u8]] = &[
        b"99999nam  2200025   4500\x1d",
        b"99999nam  2299999   4500\x1e\x1d",
        b"99999nam  2200037   4500001999999999\x1ex\x1e\x1d",
        b"99999nam  2200049   4500001999999999245999900000\x1eid\x1e\x1d",
        b"99999nam  2200037   4500001000300000\x1eid\x1e\x1d",
        b"99999nam  2200037   4500001000300000\x1eid\x1e",
        b"99999nam  2200037   4500",
        b"00100nam  2200037   4500\xde\xad\xbe\xef",
        b"99999",
    ];
    for input in inputs {
        let mut items = 0;
        let largest = largest_allocation(|| items = exercise(input));
        assert!(
            largest <= bound(input, items),
            "{} bytes in one allocation for a {}-byte input",
            largest,
            input.len()
        );
        assert!(largest < 4096, "{largest}");
        check_read_invariants(input);
    }
}

#[test]
fn a_real_record_claiming_99999_allocates_for_what_it_holds() {
    let mut input = common::corpus("formats/pymarc_one.dat");
    input[..5].copy_from_slice(b"99999");
    let mut items = 0;
    let largest = largest_allocation(|| items = exercise(&input));
    assert_eq!(items, 1);
    assert!(largest <= bound(&input, items), "{largest}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any short input made of leader-shaped claims and noise.
    #[test]
    fn allocation_is_bounded_by_the_input(
        parts in proptest::collection::vec(
            prop_oneof![
                (0u32..100_000, 0u32..100_000).prop_map(|(len, base)| {
                    format!("{len:05}nam  22{base:05}   4500").into_bytes()
                }),
                (0u32..10_000, 0u32..100_000).prop_map(|(len, start)| {
                    format!("245{len:04}{start:05}").into_bytes()
                }),
                proptest::collection::vec(
                    proptest::sample::select(b"\x1d\x1e\x1fa0 ".to_vec()),
                    0..6,
                ),
            ],
            0..8,
        )
    ) {
        let input = parts.concat();
        let mut items = 0;
        let largest = largest_allocation(|| items = exercise(&input));
        prop_assert!(largest <= bound(&input, items), "{} for {:?}", largest, input);
    }
}
