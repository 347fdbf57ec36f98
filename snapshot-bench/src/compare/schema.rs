//! Does a changed struct still load what the old one saved? One device
//! (the example VMM's HPET timer) in four shapes: the one that wrote the file, and the
//! next release's with a field added, removed, or the fields reordered.
//! Each format writes the old shape and reads it with each new one.
//!
//! Each format gets its own idiomatic way to declare the change, where it
//! has one: `#[serde(default)]` for the added field in serde formats,
//! `since`/`default` and `removed(..)` with a version bump for the
//! derive. Positional formats have none.
//!
//! The timer sits in a record followed by the next device's fields
//! (`next`), and a positional stream continues after it, as it does in a
//! whole snapshot: a reader that takes the wrong number of bytes then
//! misreads what follows instead of hitting the end.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use snapshot_core::Snapshot;

/// What loading the old data with a changed struct did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Loaded, and every field both shapes share holds the saved value.
    Loads,
    /// Refused with an error.
    Refused(String),
    /// Loaded without an error, but with wrong values.
    Wrong,
}

/// The outcome of each change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcomes {
    /// A field added in the new struct.
    pub added: Outcome,
    /// A field removed from the new struct.
    pub removed: Outcome,
    /// The same fields in another order.
    pub reordered: Outcome,
}

/// Writes the old shape and reads a new one, in one format.
pub trait SchemaCodec {
    /// The saved bytes of `value`.
    fn write<T: Shape>(value: &T) -> anyhow::Result<Vec<u8>>;
    /// Loads a value from what [`SchemaCodec::write`] saved.
    fn read<T: Shape>(bytes: &[u8]) -> anyhow::Result<T>;
}

/// What every format needs of a shape.
pub trait Shape: Snapshot + Serialize + DeserializeOwned + Positional {
    /// Whether the fields this shape shares with [`Old`] hold the
    /// values of [`old`].
    fn matches_old(&self) -> bool;
}

/// Native fields in declaration order, as a hand-written bhyve stream
/// would write them.
pub trait Positional: Sized {
    /// Appends the fields.
    fn put(&self, out: &mut Vec<u8>);
    /// Takes the fields from the front of `input`; `None` if it ends.
    fn take(input: &mut &[u8]) -> Option<Self>;
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn take_u64(input: &mut &[u8]) -> Option<u64> {
    let (head, rest) = input.split_first_chunk::<8>()?;
    *input = rest;
    Some(u64::from_le_bytes(*head))
}

fn take_u32(input: &mut &[u8]) -> Option<u32> {
    let (head, rest) = input.split_first_chunk::<4>()?;
    *input = rest;
    Some(u32::from_le_bytes(*head))
}

/// The fields of the device saved after the timer.
#[derive(Snapshot, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[snapshot(name = "bench_next")]
pub struct Next {
    pub a: u64,
    pub b: u64,
    pub c: u64,
}

const NEXT: Next = Next {
    a: 0x0a0a_0a0a_0a0a_0a0a,
    b: 0x0b0b_0b0b_0b0b_0b0b,
    c: 0x0c0c_0c0c_0c0c_0c0c,
};

impl Positional for Next {
    fn put(&self, out: &mut Vec<u8>) {
        put_u64(out, self.a);
        put_u64(out, self.b);
        put_u64(out, self.c);
    }
    fn take(input: &mut &[u8]) -> Option<Self> {
        Some(Next {
            a: take_u64(input)?,
            b: take_u64(input)?,
            c: take_u64(input)?,
        })
    }
}

macro_rules! shape {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ident,)* }) => {
        #[derive(Snapshot, Serialize, Deserialize, Clone, Debug, PartialEq)]
        $(#[$meta])*
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// The device saved after the timer.
            pub next: Next,
        }

        impl Positional for $name {
            fn put(&self, out: &mut Vec<u8>) {
                $(paste_put!(out, self.$field, $ty);)*
                self.next.put(out);
            }
            fn take(input: &mut &[u8]) -> Option<Self> {
                Some($name {
                    $($field: paste_take!(input, $ty),)*
                    next: Next::take(input)?,
                })
            }
        }
    };
}

macro_rules! paste_put {
    ($out:ident, $v:expr, u64) => {
        put_u64($out, $v)
    };
    ($out:ident, $v:expr, u32) => {
        put_u32($out, $v)
    };
}

macro_rules! paste_take {
    ($input:ident, u64) => {
        take_u64($input)?
    };
    ($input:ident, u32) => {
        take_u32($input)?
    };
}

shape!(
    /// The timer as the old release saved it.
    #[snapshot(name = "vhpet_timer", version = 1)]
    Old {
        cap_config: u64,
        msireg: u64,
        compval: u32,
        comprate: u32,
    }
);

shape!(
    /// A field added at the end.
    #[snapshot(name = "vhpet_timer", version = 2)]
    Added {
        cap_config: u64,
        msireg: u64,
        compval: u32,
        comprate: u32,
        #[snapshot(since = 2, default)]
        #[serde(default)]
        fsb_route: u64,
    }
);

shape!(
    /// `msireg` removed.
    #[snapshot(name = "vhpet_timer", version = 2)]
    #[snapshot(removed(field = "msireg", since = 2))]
    Removed {
        cap_config: u64,
        compval: u32,
        comprate: u32,
    }
);

shape!(
    /// The same fields, the two 32-bit ones first.
    #[snapshot(name = "vhpet_timer", version = 1)]
    Reordered {
        compval: u32,
        comprate: u32,
        cap_config: u64,
        msireg: u64,
    }
);

/// The saved timer.
pub fn old() -> Old {
    Old {
        cap_config: 0x1111_1111_1111_1111,
        msireg: 0x2222_2222_2222_2222,
        compval: 0x3333_3333,
        comprate: 0x4444_4444,
        next: NEXT,
    }
}

impl Shape for Old {
    fn matches_old(&self) -> bool {
        *self == old()
    }
}

impl Shape for Added {
    fn matches_old(&self) -> bool {
        let o = old();
        (self.cap_config, self.msireg, self.compval, self.comprate)
            == (o.cap_config, o.msireg, o.compval, o.comprate)
            && self.fsb_route == 0
            && self.next == o.next
    }
}

impl Shape for Removed {
    fn matches_old(&self) -> bool {
        let o = old();
        (self.cap_config, self.compval, self.comprate) == (o.cap_config, o.compval, o.comprate)
            && self.next == o.next
    }
}

impl Shape for Reordered {
    fn matches_old(&self) -> bool {
        let o = old();
        (self.cap_config, self.msireg, self.compval, self.comprate)
            == (o.cap_config, o.msireg, o.compval, o.comprate)
            && self.next == o.next
    }
}

fn load<C: SchemaCodec, T: Shape>(saved: &anyhow::Result<Vec<u8>>) -> Outcome {
    let bytes = match saved {
        Ok(b) => b,
        Err(e) => return Outcome::Refused(format!("saving failed: {e:#}")),
    };
    match C::read::<T>(bytes) {
        Ok(v) if v.matches_old() => Outcome::Loads,
        Ok(_) => Outcome::Wrong,
        Err(e) => Outcome::Refused(format!("{e:#}")),
    }
}

/// Saves [`old`] with `C` and loads it with each changed shape.
pub fn run<C: SchemaCodec>() -> Outcomes {
    let saved = C::write(&old());
    Outcomes {
        added: load::<C, Added>(&saved),
        removed: load::<C, Removed>(&saved),
        reordered: load::<C, Reordered>(&saved),
    }
}

/// Bytes that follow the timer's record in a positional stream: the rest
/// of the snapshot.
pub const STREAM_REST: [u8; 64] = [0xa5; 64];

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads back what it wrote, for testing the shapes themselves.
    struct Identity;

    impl SchemaCodec for Identity {
        fn write<T: Shape>(value: &T) -> anyhow::Result<Vec<u8>> {
            Ok(serde_json::to_vec(value)?)
        }
        fn read<T: Shape>(bytes: &[u8]) -> anyhow::Result<T> {
            Ok(serde_json::from_slice(bytes)?)
        }
    }

    #[test]
    fn old_matches_itself_and_positional_round_trips() {
        let saved = Identity::write(&old()).unwrap();
        assert!(Identity::read::<Old>(&saved).unwrap().matches_old());
        let mut bytes = Vec::new();
        old().put(&mut bytes);
        assert_eq!(Old::take(&mut &bytes[..]), Some(old()));
    }

    #[test]
    fn a_changed_value_is_wrong() {
        let mut o = old();
        o.next.b += 1;
        assert!(!o.matches_old());
    }
}
