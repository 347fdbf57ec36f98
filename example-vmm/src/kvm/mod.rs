//! The KVM backend: a real guest (`guest.S`) on the in-kernel irqchip,
//! PIT and clock, a 16550 serial port whose output is stdout, and its
//! whole state saved to one image and resumed in another process, on
//! another release of the VMM's own records.
//!
//! Layout of guest memory (big real mode: see `guest.S` for why):
//!
//! | address | what |
//! | --- | --- |
//! | 0x0000 | real-mode interrupt vectors, written by the guest |
//! | 0x0f00 | parameters: steps, region start, region pages |
//! | 0x1000 | the program (`guest.bin`, listing in `guest.lst`) |
//! | 0x3000 | the guest's variables and FXSAVE area |
//! | 0x8000 | top of the stack |
//! | 4 MiB | the region the guest writes and checksums: a quarter of memory |

mod machine;
pub mod release;
mod serial;

pub use machine::{
    open_kvm, save_image, LazyPlan, LeaveOut, Machine, MemoryLoad, Pause, Saved, Stop, IMAGE_IDENT,
    KVM_DEVICE_VAR,
};
pub use release::Release;
pub use serial::Serial;
