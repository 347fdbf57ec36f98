//! Arbitrary bytes as a QEMU migration stream: parsing must never panic,
//! hang or allocate past the input, and a stream that parses must write
//! back to the same bytes (every part of it was understood, nothing
//! dropped).
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use snapshot_qemu::{parse, Body, RamEntry};

fuzz_target!(|data: &[u8]| {
    let Ok(stream) = parse(data) else {
        return;
    };
    // Where each page sent lies in the input, its last copy.
    let mut pages = HashMap::new();
    for s in &stream.sections {
        if let Body::Ram(entries) = &s.body {
            for e in entries {
                if let RamEntry::Page {
                    block,
                    offset,
                    data: range,
                    ..
                } = e
                {
                    pages.insert((block.clone(), *offset), range.clone());
                }
            }
        }
    }
    // Pages sent twice write back as their last copy: only a stream that
    // sends each page once is compared byte for byte.
    let sent: usize = stream
        .sections
        .iter()
        .map(|s| match &s.body {
            Body::Ram(e) => e
                .iter()
                .filter(|e| matches!(e, RamEntry::Page { .. }))
                .count(),
            Body::Device(_) => 0,
        })
        .sum();
    let mut out = Vec::new();
    snapshot_qemu::write(
        &stream,
        data,
        &mut |block, offset, w| w.write_all(&data[pages[&(block.to_owned(), offset)].clone()]),
        &mut out,
    )
    .expect("writing to memory cannot fail");
    if sent == pages.len() {
        assert!(out == data, "a parsed stream wrote back to other bytes");
    }
});
