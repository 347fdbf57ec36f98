//! Arbitrary text into the text-form parser: it must never panic, and what
//! it accepts must print, parse and pack stably.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapshot_nvlist::{text, NvList};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(nv) = text::from_text(src) else {
        return;
    };
    let dump = text::to_text(&nv);
    assert_eq!(text::from_text(&dump).expect("a dump must parse"), nv);
    let packed = nv.pack();
    assert_eq!(NvList::unpack(&packed).expect("a packed list must unpack"), nv);
});
