//! libnv reads buffers packed on big-endian machines (flag 0x80); so must
//! we. These tests turn our little-endian output into the big-endian bytes
//! libnv would write there, by swapping every multi-byte field.

use snapshot_nvlist::{Flags, NvList};

struct Swapper<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Swapper<'_> {
    fn swap(&mut self, at: usize, len: usize) {
        self.buf[at..at + len].reverse();
    }

    fn list_header(&mut self) {
        self.buf[self.pos + 2] |= 0x80;
        self.swap(self.pos + 3, 8);
        self.swap(self.pos + 11, 8);
        self.pos += 19;
    }

    fn field(&self, at: usize, len: usize) -> u64 {
        let mut b = [0u8; 8];
        b[..len].copy_from_slice(&self.buf[at..at + len]);
        u64::from_le_bytes(b)
    }

    /// Walks the little-endian buffer, swapping as it goes. `arrays` holds
    /// the elements left in each open nvlist array.
    fn run(&mut self) {
        let mut arrays: Vec<u64> = Vec::new();
        self.list_header();
        while self.pos < self.buf.len() {
            let p = self.pos;
            let ty = self.buf[p];
            let namesize = self.field(p + 1, 2) as usize;
            let datasize = self.field(p + 3, 8) as usize;
            let nitems = self.field(p + 11, 8);
            self.swap(p + 1, 2);
            self.swap(p + 3, 8);
            self.swap(p + 11, 8);
            self.pos = p + 19 + namesize;
            match ty {
                3 => self.swap(self.pos, 8),
                9 => (0..nitems as usize).for_each(|i| self.swap(self.pos + 8 * i, 8)),
                5 => {
                    self.list_header();
                    continue;
                }
                11 => {
                    arrays.push(nitems - 1);
                    self.list_header();
                    continue;
                }
                254 => {
                    let left = arrays.last_mut().unwrap();
                    if *left > 0 {
                        *left -= 1;
                        self.list_header();
                    } else {
                        arrays.pop();
                    }
                    continue;
                }
                _ => {}
            }
            self.pos += datasize;
        }
    }
}

/// The bytes libnv would write for `le` on a big-endian machine (shared
/// with `view.rs`).
pub fn to_big_endian(le: &[u8]) -> Vec<u8> {
    let mut buf = le.to_vec();
    Swapper {
        buf: &mut buf,
        pos: 0,
    }
    .run();
    buf
}

#[test]
fn big_endian_buffers_decode_to_the_same_list() {
    let mut nv = NvList::with_flags(Flags::NO_UNIQUE)
        .with("n", 0x0102_0304_0506_0708u64)
        .with("s", "text")
        .with("nums", vec![1u64, u64::MAX, 0x1234])
        .with("bin", vec![1u8, 2, 3])
        .with("bools", vec![true, false]);
    nv.insert(
        "nested",
        NvList::new()
            .with("x", 42u64)
            .with("deeper", NvList::new().with("y", 7u64)),
    );
    nv.insert(
        "arr",
        vec![
            NvList::new().with("a", 1u64),
            NvList::new(),
            NvList::new().with("b", vec![5u64, 6]),
        ],
    );
    nv.insert("after", 99u64);
    let le = nv.pack();
    let be = to_big_endian(&le);
    assert_ne!(le, be);
    let decoded = NvList::unpack(&be).unwrap();
    assert_eq!(decoded, nv);
    // We always write little-endian.
    assert_eq!(decoded.pack(), le);
}

#[test]
fn big_endian_header_sizes_are_checked() {
    let be = to_big_endian(&NvList::new().with("n", 1u64).pack());
    let mut longer = be.clone();
    longer.push(0);
    assert!(NvList::unpack(&longer).is_err());
    assert!(NvList::unpack(&be).is_ok());
}
