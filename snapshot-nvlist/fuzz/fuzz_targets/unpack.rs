//! Arbitrary bytes into the nvlist decoder: it must never panic, and what
//! it accepts must pack, unpack and print stably.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapshot_nvlist::{text, NvList};

fuzz_target!(|data: &[u8]| {
    let Ok(nv) = NvList::unpack(data) else {
        return;
    };
    let packed = nv.pack();
    let again = NvList::unpack(&packed).expect("a packed list must unpack");
    assert_eq!(again, nv);
    assert_eq!(again.pack(), packed, "pack must be deterministic");
    let dump = text::to_text(&nv);
    let parsed = text::from_text(&dump).expect("a dump must parse");
    assert_eq!(parsed, nv);
});
