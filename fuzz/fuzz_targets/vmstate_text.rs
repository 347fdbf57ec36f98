//! Arbitrary text as a `.vmstate` file and arbitrary bytes as a
//! `-dump-vmstate` JSON file: reading never panics, and what reads writes
//! back to text that reads the same. Two dumps compare without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapshot_qemu::vmstate::{diff, text, Dump};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok((name, vmsd)) = text::parse_device(s) {
            let again = text::device_text(&name, &vmsd);
            let back = text::parse_device(&again).expect("written text reads back");
            assert_eq!(back, (name.clone(), vmsd.clone()));
            let mut a = Dump::default();
            a.devices.insert(name, vmsd);
            let _ = diff(&a, &Dump::default());
            let _ = diff(&a, &a);
        }
    }
    if let Ok(dump) = Dump::from_json(data) {
        let _ = diff(&dump, &Dump::default());
        for (name, vmsd) in &dump.devices {
            let back = text::parse_device(&text::device_text(name, vmsd)).expect("reads back");
            assert_eq!(&back.1, vmsd);
        }
    }
});
