//! Decoding a record of fixed-size arrays allocates nothing: numbers and
//! bytes go from the packed list straight into the arrays. A test binary
//! of its own, for its counting allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use snapshot_core::Snapshot;

/// Counts the allocations of the calling thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is passed to the system allocator unchanged; the
// count is a thread-local cell, which allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// The allocations `f` makes on this thread.
fn allocations<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    (out, ALLOCATIONS.with(Cell::get) - before)
}

#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "vcpu")]
struct Vcpu {
    regs: [u64; 32],
    exit: [u8; 96],
    segments: [u16; 8],
    deltas: [i32; 4],
    signed_bytes: [i8; 3],
    none: [u32; 0],
}

#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "with_vec")]
struct WithVec {
    regs: Vec<u64>,
}

#[test]
fn a_record_of_arrays_decodes_without_allocating() {
    let v = Vcpu {
        regs: std::array::from_fn(|i| i as u64 * 0x0101_0101),
        exit: std::array::from_fn(|i| i as u8),
        segments: [8, 16, 24, 0, 0, 0, 0x10, 0x18],
        deltas: [-1, 2, -3, 4],
        signed_bytes: [-128, 0, 127],
        none: [],
    };
    let bytes = v.to_bytes();
    let (back, count) = allocations(|| Vcpu::from_bytes(&bytes));
    assert_eq!(back.unwrap(), v);
    assert_eq!(count, 0, "decoding fixed-size arrays allocated");

    // The counter counts: a Vec field allocates its one buffer.
    let w = WithVec {
        regs: v.regs.to_vec(),
    };
    let bytes = w.to_bytes();
    let (back, count) = allocations(|| WithVec::from_bytes(&bytes));
    assert_eq!(back.unwrap(), w);
    assert_eq!(count, 1);
}

#[test]
fn an_array_of_another_length_takes_the_checked_path_and_is_named() {
    #[derive(Snapshot, Debug)]
    #[snapshot(name = "vcpu")]
    struct Short {
        regs: [u64; 31],
        exit: [u8; 96],
        segments: [u16; 8],
        deltas: [i32; 4],
        signed_bytes: [i8; 3],
        none: [u32; 0],
    }
    let short = Short {
        regs: [7; 31],
        exit: [0; 96],
        segments: [0; 8],
        deltas: [0; 4],
        signed_bytes: [0; 3],
        none: [],
    };
    let e = Vcpu::from_bytes(&short.to_bytes()).unwrap_err().to_string();
    assert!(e.contains("regs"), "{e}");
}
