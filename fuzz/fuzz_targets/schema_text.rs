//! Arbitrary text into the recorded-schema parser, which reads the
//! `schemas` section of any image: it must never panic, and what it
//! accepts must print and parse back to the same schema.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapshot_core::schema::Recorded;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(rec) = Recorded::parse(src) else {
        return;
    };
    let text = rec.to_text();
    assert_eq!(
        Recorded::parse(&text).expect("a printed schema must parse"),
        rec
    );
});
