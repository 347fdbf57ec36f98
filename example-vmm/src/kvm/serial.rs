//! A 16550 UART on 0x3f8, enough for a guest that writes: the registers
//! a guest can set and read back are state, the transmitter is always
//! ready and sends each byte to the VMM's output at once.

/// The port base.
pub const BASE: u16 = 0x3f8;
/// The ports the UART decodes.
pub const PORTS: std::ops::Range<u16> = BASE..BASE + 8;

const LCR_DLAB: u8 = 0x80;
/// Line status: transmitter holding register and shift register empty.
const LSR_IDLE: u8 = 0x60;

/// Modem control: loopback, where sent bytes go back to the receiver.
const MCR_LOOP: u8 = 0x10;

/// The UART's registers, as the guest set them (stored as each release's
/// `serial` record: `release.rs`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Serial {
    /// Interrupt enable.
    pub ier: u8,
    /// Line control (bit 7: divisor latch access).
    pub lcr: u8,
    /// Modem control.
    pub mcr: u8,
    /// Scratch.
    pub scr: u8,
    /// Divisor latch, low and high byte.
    pub dll: u8,
    pub dlm: u8,
    /// Bytes the guest has sent.
    pub bytes_sent: u64,
    /// Bytes sent in loopback mode, which go nowhere (there is no
    /// receiver).
    pub loopback_bytes: u64,
}

impl Serial {
    /// A write of `value` to `port`; a byte the guest sends is returned.
    pub fn write(&mut self, port: u16, value: u8) -> Option<u8> {
        let dlab = self.lcr & LCR_DLAB != 0;
        match port - BASE {
            0 if dlab => self.dll = value,
            0 if self.mcr & MCR_LOOP != 0 => self.loopback_bytes += 1,
            0 => {
                self.bytes_sent += 1;
                return Some(value);
            }
            1 if dlab => self.dlm = value,
            1 => self.ier = value & 0x0f,
            3 => self.lcr = value,
            4 => self.mcr = value & 0x1f,
            7 => self.scr = value,
            _ => {}
        }
        None
    }

    /// A read of `port`.
    pub fn read(&self, port: u16) -> u8 {
        let dlab = self.lcr & LCR_DLAB != 0;
        match port - BASE {
            0 if dlab => self.dll,
            1 if dlab => self.dlm,
            1 => self.ier,
            // No interrupt pending.
            2 => 0x01,
            3 => self.lcr,
            4 => self.mcr,
            5 => LSR_IDLE,
            // Carrier, data set ready and clear to send.
            6 => 0xb0,
            7 => self.scr,
            _ => 0,
        }
    }
}
