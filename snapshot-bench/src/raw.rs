//! A hand-written positional stream of native little-endian fields, as
//! bhyve's `.kern` file holds today: no names, no types, no versions. The
//! lower bound for any self-describing format.

use crate::{DeviceState, Hpet, HpetTimer, Lapic, Pit, PitChannel, Rtc, Vcpu};

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.u32(v.len() as u32);
        self.0.extend_from_slice(v);
    }
}

/// The stream ended early.
#[derive(Debug)]
pub struct Truncated;

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], Truncated> {
        let (head, rest) = self.0.split_first_chunk::<N>().ok_or(Truncated)?;
        self.0 = rest;
        Ok(*head)
    }
    fn u8(&mut self) -> Result<u8, Truncated> {
        Ok(self.take::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, Truncated> {
        self.take().map(u16::from_le_bytes)
    }
    fn u32(&mut self) -> Result<u32, Truncated> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Result<u64, Truncated> {
        self.take().map(u64::from_le_bytes)
    }
    fn bytes(&mut self) -> Result<Vec<u8>, Truncated> {
        let n = self.u32()? as usize;
        if self.0.len() < n {
            return Err(Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head.to_vec())
    }
    fn many<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> Result<T, Truncated>,
    ) -> Result<Vec<T>, Truncated> {
        let n = self.u32()? as usize;
        (0..n).map(|_| item(self)).collect()
    }
}

/// Writes the state as a positional stream.
pub fn encode(s: &DeviceState) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(20 * 1024));
    let h = &s.hpet;
    w.u64(h.config);
    w.u64(h.isr);
    w.u32(h.countbase);
    w.u64(h.countbase_sbt as u64);
    w.u32(h.timers.len() as u32);
    for t in &h.timers {
        w.u64(t.cap_config);
        w.u64(t.msireg);
        w.u32(t.compval);
        w.u32(t.comprate);
        w.u64(t.callout_sbt as u64);
    }
    let r = &s.rtc;
    w.u8(r.addr);
    w.u64(r.base_uptime as u64);
    w.u64(r.base_rtctime as u64);
    w.u8(r.halted.into());
    w.bytes(&r.nvram);
    w.u32(s.pit.channels.len() as u32);
    for c in &s.pit.channels {
        w.u8(c.mode);
        w.u16(c.initial);
        w.u16(c.count_ol);
        w.u8(c.status);
        w.u8(c.olbyte);
        w.u8(c.crbyte);
        w.u8(c.frozen.into());
        w.u8(c.slatched.into());
        w.u64(c.callout_sbt as u64);
    }
    w.u32(s.vcpus.len() as u32);
    for v in &s.vcpus {
        w.u32(v.id);
        w.u32(v.regs.len() as u32);
        for &r in &v.regs {
            w.u64(r);
        }
        w.bytes(&v.exit);
        w.u64(v.nextrip);
        w.u64(v.tsc_offset);
    }
    w.u32(s.lapics.len() as u32);
    for l in &s.lapics {
        w.u32(l.id);
        w.u32(l.esr_pending);
        w.u64(l.timer_period);
        w.u64(l.timer_freq);
        w.bytes(&l.page);
    }
    w.0
}

/// Reads what [`encode`] wrote.
pub fn decode(bytes: &[u8]) -> Result<DeviceState, Truncated> {
    let mut r = Reader(bytes);
    let hpet = Hpet {
        config: r.u64()?,
        isr: r.u64()?,
        countbase: r.u32()?,
        countbase_sbt: r.u64()? as i64,
        timers: r.many(|r| {
            Ok(HpetTimer {
                cap_config: r.u64()?,
                msireg: r.u64()?,
                compval: r.u32()?,
                comprate: r.u32()?,
                callout_sbt: r.u64()? as i64,
            })
        })?,
    };
    let rtc = Rtc {
        addr: r.u8()?,
        base_uptime: r.u64()? as i64,
        base_rtctime: r.u64()? as i64,
        halted: r.u8()? != 0,
        nvram: r.bytes()?,
    };
    let pit = Pit {
        channels: r.many(|r| {
            Ok(PitChannel {
                mode: r.u8()?,
                initial: r.u16()?,
                count_ol: r.u16()?,
                status: r.u8()?,
                olbyte: r.u8()?,
                crbyte: r.u8()?,
                frozen: r.u8()? != 0,
                slatched: r.u8()? != 0,
                callout_sbt: r.u64()? as i64,
            })
        })?,
    };
    let vcpus = r.many(|r| {
        Ok(Vcpu {
            id: r.u32()?,
            regs: r.many(Reader::u64)?,
            exit: r.bytes()?,
            nextrip: r.u64()?,
            tsc_offset: r.u64()?,
        })
    })?;
    let lapics = r.many(|r| {
        Ok(Lapic {
            id: r.u32()?,
            esr_pending: r.u32()?,
            timer_period: r.u64()?,
            timer_freq: r.u64()?,
            page: r.bytes()?,
        })
    })?;
    Ok(DeviceState {
        hpet,
        rtc,
        pit,
        vcpus,
        lapics,
    })
}
