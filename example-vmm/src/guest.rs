//! Simulated guest content: CMOS and APIC register values a booted guest
//! would have, and guest memory whose pages look like a real guest's
//! (about half zero pages, code-like and data-like pages), so sizes and
//! timings measured on it mean something.

/// Size of a guest page.
pub const PAGE: usize = 4096;

/// The CMOS register file of a booted PC: clock registers in BCD, status
/// registers, the equipment and memory-size bytes a BIOS writes.
pub fn cmos() -> [u8; 128] {
    let mut regs = [0u8; 128];
    let clock = [0x30, 0x00, 0x15, 0x00, 0x09, 0x00, 0x05, 0x27, 0x11, 0x26];
    regs[..clock.len()].copy_from_slice(&clock);
    regs[0x0a] = 0x26;
    regs[0x0b] = 0x02;
    regs[0x0d] = 0x80;
    regs[0x10] = 0x40;
    regs[0x14] = 0x0f;
    regs[0x15] = 0x80;
    regs[0x16] = 0x02;
    regs[0x32] = 0x20;
    for (i, r) in regs.iter_mut().enumerate().skip(0x38) {
        *r = (i as u8).wrapping_mul(7);
    }
    regs
}

/// The local APIC register page of a booted vCPU: ID, version, task
/// priority, spurious vector, LVT entries, timer registers.
pub fn apic_page(id: u32) -> [u8; 4096] {
    let mut page = [0u8; 4096];
    let mut set = |offset: usize, value: u32| {
        page[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
    };
    set(0x20, id << 24);
    set(0x30, 0x0005_0014);
    set(0xf0, 0x0000_01ff);
    set(0x320, 0x0002_00ef);
    set(0x350, 0x0001_0700);
    set(0x360, 0x0000_0400);
    set(0x370, 0x0001_00fe);
    set(0x380, 1_000_000);
    set(0x390, 483_211);
    set(0x3e0, 0x0000_000b);
    // In-service vectors: the ISR is eight 32-bit registers, 16 bytes apart.
    for vector in [0x31usize, 0xef, 0xfe] {
        page[0x100 + vector / 32 * 16 + vector % 32 / 8] |= 1 << (vector % 8);
    }
    page
}

/// A small, fast generator (xorshift64*), seeded per page so that any
/// page can be regenerated alone.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// What a page holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageKind {
    /// Never touched by the guest.
    Zero,
    /// Machine code: short instruction patterns, repeated with variation.
    Code,
    /// Heap and page-cache data: small integers, pointers, text.
    Data,
}

/// The kind of page `index`: runs of a kind, as guests allocate in
/// 1 MiB extents; about 50% zero, 15% code, 35% data.
pub fn page_kind(index: usize) -> PageKind {
    let run = Rng::new(index as u64 / 256 + 1).next() % 100;
    match run {
        0..=49 => PageKind::Zero,
        50..=64 => PageKind::Code,
        _ => PageKind::Data,
    }
}

/// Fills guest memory: every page according to [`page_kind`].
pub fn fill_memory(mem: &mut [u8]) {
    for (index, page) in mem.chunks_mut(PAGE).enumerate() {
        fill_page(index, page);
    }
}

fn fill_page(index: usize, page: &mut [u8]) {
    let mut rng = Rng::new(index as u64 + 0x1000);
    match page_kind(index) {
        PageKind::Zero => page.fill(0),
        PageKind::Code => {
            // push rbp; mov rbp,rsp; mov eax,imm32; call rel32; pop rbp; ret
            const PROLOGUE: [u8; 16] = [
                0x55, 0x48, 0x89, 0xe5, 0xb8, 0, 0, 0, 0, 0xe8, 0, 0, 0, 0, 0x5d, 0xc3,
            ];
            for chunk in page.chunks_mut(16) {
                let r = rng.next();
                chunk.copy_from_slice(&PROLOGUE[..chunk.len()]);
                chunk[5] = r as u8;
                chunk[6] = (r >> 8) as u8 & 0x0f;
                chunk[10..14].copy_from_slice(&((r >> 32) as u32 & 0xffff).to_le_bytes());
            }
        }
        PageKind::Data => {
            for word in page.chunks_mut(8) {
                let r = rng.next();
                let value = match r % 4 {
                    0 => r >> 56,
                    1 => 0xffff_8000_0000_0000 | (r >> 20) & !7,
                    2 => u64::from_le_bytes(*b"guest da") ^ (r >> 61),
                    _ => 0,
                };
                word.copy_from_slice(&value.to_le_bytes()[..word.len()]);
            }
        }
    }
}

/// A 64-bit checksum of guest memory (FNV-1a over 8-byte words, with a
/// final mix), to check that a resume restored every byte.
pub fn checksum(mem: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut words = mem.chunks_exact(8);
    for w in &mut words {
        h ^= u64::from_le_bytes(w.try_into().unwrap());
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    for b in words.remainder() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^ (h >> 29)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_has_every_kind_of_page() {
        let mut mem = vec![0xaau8; 16 << 20];
        fill_memory(&mut mem);
        let kinds: Vec<_> = (0..mem.len() / PAGE).map(page_kind).collect();
        for kind in [PageKind::Zero, PageKind::Code, PageKind::Data] {
            assert!(kinds.contains(&kind), "{kind:?}");
        }
        let zero = kinds.iter().position(|k| *k == PageKind::Zero).unwrap();
        assert!(mem[zero * PAGE..(zero + 1) * PAGE].iter().all(|b| *b == 0));
        let code = kinds.iter().position(|k| *k == PageKind::Code).unwrap();
        assert_eq!(mem[code * PAGE], 0x55);
    }

    #[test]
    fn checksum_sees_one_byte() {
        let mut mem = vec![0u8; 1 << 16];
        fill_memory(&mut mem);
        let before = checksum(&mem);
        mem[12_345] ^= 1;
        assert_ne!(checksum(&mem), before);
    }
}
