//! The userfaultfd ABI of `<linux/userfaultfd.h>`: the structures and
//! ioctl numbers this crate uses, and thin wrappers that return
//! `io::Error`.
//!
//! They are written out here rather than taken from the `userfaultfd`
//! crate because its `userfaultfd-sys` generates them with bindgen at
//! build time, which needs libclang on every machine that builds the
//! workspace (no feature turns that off), and `libc` has only the system
//! call's number. The layout is the kernel's stable UAPI; the sizes are
//! checked at compile time below.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `UFFD_API`: the API version asked for in `UFFDIO_API`.
const UFFD_API: u64 = 0xaa;
/// The ioctl type byte of userfaultfd.
const UFFDIO: u64 = 0xaa;

/// `_IOWR(UFFDIO, nr, size)`.
const fn iowr(nr: u64, size: usize) -> u64 {
    (3 << 30) | ((size as u64) << 16) | (UFFDIO << 8) | nr
}
/// `_IOR(UFFDIO, nr, size)`.
const fn ior(nr: u64, size: usize) -> u64 {
    (2 << 30) | ((size as u64) << 16) | (UFFDIO << 8) | nr
}

const UFFDIO_API: u64 = iowr(0x3f, std::mem::size_of::<UffdioApi>());
const UFFDIO_REGISTER: u64 = iowr(0x00, std::mem::size_of::<UffdioRegister>());
const UFFDIO_WAKE: u64 = ior(0x02, std::mem::size_of::<UffdioRange>());
const UFFDIO_COPY: u64 = iowr(0x03, std::mem::size_of::<UffdioCopy>());
const UFFDIO_ZEROPAGE: u64 = iowr(0x04, std::mem::size_of::<UffdioZeropage>());
/// `USERFAULTFD_IOC_NEW`: `_IO(0xaa, 0)` on `/dev/userfaultfd`.
const USERFAULTFD_IOC_NEW: u64 = 0xaa << 8;

/// `UFFDIO_REGISTER_MODE_MISSING`: faults on pages never populated.
const REGISTER_MODE_MISSING: u64 = 1;
/// `UFFDIO_COPY_MODE_DONTWAKE` and `UFFDIO_ZEROPAGE_MODE_DONTWAKE`:
/// leave the waiting threads asleep, for a `UFFDIO_WAKE` later.
const MODE_DONTWAKE: u64 = 1;
/// `UFFD_EVENT_PAGEFAULT`.
pub const EVENT_PAGEFAULT: u8 = 0x12;

#[repr(C)]
struct UffdioApi {
    api: u64,
    features: u64,
    ioctls: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct UffdioRange {
    start: u64,
    len: u64,
}

#[repr(C)]
struct UffdioRegister {
    range: UffdioRange,
    mode: u64,
    ioctls: u64,
}

#[repr(C)]
struct UffdioCopy {
    dst: u64,
    src: u64,
    len: u64,
    mode: u64,
    copy: i64,
}

#[repr(C)]
struct UffdioZeropage {
    range: UffdioRange,
    mode: u64,
    zeropage: i64,
}

/// `struct uffd_msg` (packed in the header; 32 bytes, every field at its
/// natural alignment). Only the page fault's address is read.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct UffdMsg {
    pub event: u8,
    reserved1: u8,
    reserved2: u16,
    reserved3: u32,
    /// `arg.pagefault.flags`.
    pub flags: u64,
    /// `arg.pagefault.address`.
    pub address: u64,
    /// `arg.pagefault.feat` and padding.
    reserved4: u64,
}

const _: () = assert!(std::mem::size_of::<UffdioApi>() == 24);
const _: () = assert!(std::mem::size_of::<UffdioRegister>() == 32);
const _: () = assert!(std::mem::size_of::<UffdioCopy>() == 40);
const _: () = assert!(std::mem::size_of::<UffdioZeropage>() == 32);
const _: () = assert!(std::mem::size_of::<UffdMsg>() == 32);

impl UffdMsg {
    pub const ZERO: UffdMsg = UffdMsg {
        event: 0,
        reserved1: 0,
        reserved2: 0,
        reserved3: 0,
        flags: 0,
        address: 0,
        reserved4: 0,
    };
}

/// How a userfaultfd could not be had: the two ways tried.
pub struct OpenFailure {
    /// The `userfaultfd(2)` system call's error.
    pub syscall: io::Error,
    /// Opening `/dev/userfaultfd`, or its ioctl.
    pub device: io::Error,
}

/// A new userfaultfd, non-blocking and close-on-exec, that also serves
/// faults taken in the kernel (a KVM vCPU's, a system call's): first by
/// the system call, then through `/dev/userfaultfd` (Linux 6.1), whose
/// file permissions decide instead of `vm.unprivileged_userfaultfd`.
pub fn open() -> Result<OwnedFd, OpenFailure> {
    let flags = libc::O_CLOEXEC | libc::O_NONBLOCK;
    // SAFETY: the system call takes flags only and returns a new fd.
    let fd = unsafe { libc::syscall(libc::SYS_userfaultfd, flags) };
    if fd >= 0 {
        // SAFETY: a new fd that nothing else owns.
        return Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) });
    }
    let syscall = io::Error::last_os_error();
    let device = match std::fs::File::options()
        .read(true)
        .write(true)
        .open("/dev/userfaultfd")
    {
        Ok(dev) => {
            // SAFETY: USERFAULTFD_IOC_NEW takes the flags as its argument
            // and returns a new fd.
            let fd = unsafe { libc::ioctl(dev.as_raw_fd(), USERFAULTFD_IOC_NEW as _, flags) };
            if fd >= 0 {
                // SAFETY: a new fd that nothing else owns.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
            io::Error::last_os_error()
        }
        Err(e) => e,
    };
    Err(OpenFailure { syscall, device })
}

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `UFFDIO_API`: the handshake every userfaultfd needs before use.
pub fn api(fd: &OwnedFd) -> io::Result<()> {
    let mut api = UffdioApi {
        api: UFFD_API,
        features: 0,
        ioctls: 0,
    };
    // SAFETY: `api` is a valid `uffdio_api` the kernel reads and writes.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), UFFDIO_API as _, &mut api) })?;
    if api.ioctls & (1 << 0x3f | 1 << 0x00) != (1 << 0x3f | 1 << 0x00) {
        return Err(io::Error::other("UFFDIO_API offers no UFFDIO_REGISTER"));
    }
    Ok(())
}

/// `UFFDIO_REGISTER` of `[start, start + len)` in missing mode; fails
/// unless the range offers `UFFDIO_COPY`, `UFFDIO_ZEROPAGE` and
/// `UFFDIO_WAKE`.
pub fn register(fd: &OwnedFd, start: u64, len: u64) -> io::Result<()> {
    let mut reg = UffdioRegister {
        range: UffdioRange { start, len },
        mode: REGISTER_MODE_MISSING,
        ioctls: 0,
    };
    // SAFETY: `reg` is a valid `uffdio_register`; the range is a mapping
    // of the caller's.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), UFFDIO_REGISTER as _, &mut reg) })?;
    let needed = 1 << 0x02 | 1 << 0x03 | 1 << 0x04;
    if reg.ioctls & needed != needed {
        return Err(io::Error::other(
            "the registered range offers no UFFDIO_COPY or UFFDIO_ZEROPAGE",
        ));
    }
    Ok(())
}

/// What one attempt to fill a range did.
pub enum Filled {
    /// This many bytes from the start were filled (all, or some before
    /// the kernel stopped: call again for the rest).
    Bytes(u64),
    /// The first page was populated already (by an earlier fill).
    Exists,
}

/// Interprets the result of `UFFDIO_COPY`/`UFFDIO_ZEROPAGE`: `done` is
/// the ioctl's count field (bytes filled, or a negated errno).
fn filled(ret: libc::c_int, done: i64, len: u64) -> io::Result<Filled> {
    if ret == 0 {
        return Ok(Filled::Bytes(len));
    }
    let err = io::Error::last_os_error();
    match (err.raw_os_error(), done) {
        (_, n) if n > 0 => Ok(Filled::Bytes(n as u64)),
        (Some(libc::EEXIST), _) => Ok(Filled::Exists),
        (Some(libc::EAGAIN), _) => Ok(Filled::Bytes(0)),
        _ => Err(err),
    }
}

/// `UFFDIO_COPY` of `len` bytes from `src` to `dst` (page-aligned),
/// leaving the threads that wait on the range asleep (see [`wake`]).
///
/// # Safety
///
/// `src` must be readable for `len` bytes; `dst` must lie in a range
/// registered on `fd`.
pub unsafe fn copy(fd: &OwnedFd, dst: u64, src: *const u8, len: u64) -> io::Result<Filled> {
    let mut c = UffdioCopy {
        dst,
        src: src as u64,
        len,
        mode: MODE_DONTWAKE,
        copy: 0,
    };
    // SAFETY: by the caller's contract.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), UFFDIO_COPY as _, &mut c) };
    filled(ret, c.copy, len)
}

/// `UFFDIO_ZEROPAGE` of `[start, start + len)`, leaving its waiters
/// asleep.
pub fn zeropage(fd: &OwnedFd, start: u64, len: u64) -> io::Result<Filled> {
    let mut z = UffdioZeropage {
        range: UffdioRange { start, len },
        mode: MODE_DONTWAKE,
        zeropage: 0,
    };
    // SAFETY: `z` is a valid `uffdio_zeropage`; the kernel checks the
    // range is registered.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), UFFDIO_ZEROPAGE as _, &mut z) };
    filled(ret, z.zeropage, len)
}

/// `UFFDIO_WAKE` of `[start, start + len)`: the threads waiting there
/// retry their access.
pub fn wake(fd: &OwnedFd, start: u64, len: u64) -> io::Result<()> {
    let mut r = UffdioRange { start, len };
    // SAFETY: `r` is a valid `uffdio_range`.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), UFFDIO_WAKE as _, &mut r) })
}

/// Reads the pending fault messages into `msgs`: how many were read (0
/// when none is pending).
pub fn read_msgs(fd: &OwnedFd, msgs: &mut [UffdMsg]) -> io::Result<usize> {
    // SAFETY: `msgs` is writable for its whole length; `UffdMsg` is plain
    // data of the kernel's layout.
    let n = unsafe {
        libc::read(
            fd.as_raw_fd(),
            msgs.as_mut_ptr().cast(),
            std::mem::size_of_val(msgs),
        )
    };
    if n < 0 {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::EINTR) => Ok(0),
            _ => Err(err),
        };
    }
    Ok(n as usize / std::mem::size_of::<UffdMsg>())
}
