//! Fields stored through a conversion: `#[snapshot(with = module, stored
//! = Type)]` for a foreign type without a `Field` impl, and
//! `#[snapshot(serde)]` for one with serde impls. The schema records what
//! is stored; a value that does not convert back is an error naming the
//! field.

use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use snapshot_core::{NvList, Snapshot, Value};

use super::util::round_trip;

/// Stands for a type of another crate (kvm-bindings' `kvm_pit_channel_state`):
/// no `Field` impl, and the orphan rule forbids one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PitChannel {
    pub count: u32,
    pub mode: u8,
    pub gate: u8,
}

/// The stored shape of `PitChannel`: a record of the program's own.
#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "pit_channel")]
pub struct PitChannelState {
    count: u32,
    mode: u8,
    gate: u8,
}

mod pit_channel {
    use super::{PitChannel, PitChannelState};

    pub fn to_stored(c: &PitChannel) -> PitChannelState {
        PitChannelState {
            count: c.count,
            mode: c.mode,
            gate: c.gate,
        }
    }

    pub fn from_stored(s: PitChannelState) -> Result<PitChannel, String> {
        if s.mode > 5 {
            return Err(format!("mode {} is not a PIT mode (0..=5)", s.mode));
        }
        Ok(PitChannel {
            count: s.count,
            mode: s.mode,
            gate: s.gate,
        })
    }
}

/// A foreign counter stored as a plain number.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Ticks(pub u64);

mod ticks {
    use std::convert::Infallible;

    pub fn to_stored(t: &super::Ticks) -> u64 {
        t.0
    }

    pub fn from_stored(n: u64) -> Result<super::Ticks, Infallible> {
        Ok(super::Ticks(n))
    }
}

/// A rate limiter the VMM keeps with serde's derives.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct RateLimiter {
    pub bandwidth: Option<Bucket>,
    pub ops: Option<Bucket>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Bucket {
    pub size: u64,
    pub refill_ms: u64,
}

#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "pit", version = 2)]
struct Pit {
    #[snapshot(with = pit_channel, stored = PitChannelState)]
    channels: PitChannel,
    #[snapshot(with = ticks, stored = u64)]
    elapsed: Ticks,
    #[snapshot(serde)]
    limiter: RateLimiter,
    #[snapshot(since = 2, default, with = ticks, stored = u64)]
    added: Ticks,
}

#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "timer_source")]
enum Source {
    Pit(#[snapshot(with = pit_channel, stored = PitChannelState)] PitChannel),
    Serde {
        #[snapshot(serde)]
        limiter: RateLimiter,
    },
}

fn bucket() -> impl Strategy<Value = Option<Bucket>> {
    proptest::option::of(
        (any::<u64>(), any::<u64>()).prop_map(|(size, refill_ms)| Bucket { size, refill_ms }),
    )
}

prop_compose! {
    fn pit()(
        count in any::<u32>(), mode in 0..=5u8, gate in any::<u8>(),
        elapsed in any::<u64>(), bandwidth in bucket(), ops in bucket(), added in any::<u64>(),
    ) -> Pit {
        Pit {
            channels: PitChannel { count, mode, gate },
            elapsed: Ticks(elapsed),
            limiter: RateLimiter { bandwidth, ops },
            added: Ticks(added),
        }
    }
}

proptest! {
    #[test]
    fn converted_fields_round_trip(pit in pit()) {
        for back in round_trip(&pit) {
            prop_assert_eq!(&back, &pit);
        }
        let source = Source::Pit(pit.channels.clone());
        prop_assert_eq!(round_trip(&source), [source.clone(), source]);
        let source = Source::Serde { limiter: pit.limiter.clone() };
        prop_assert_eq!(round_trip(&source), [source.clone(), source]);
    }
}

#[test]
fn stored_as_the_model_type() {
    let pit = Pit {
        channels: PitChannel {
            count: 0x1234,
            mode: 2,
            gate: 1,
        },
        elapsed: Ticks(99),
        limiter: RateLimiter {
            bandwidth: Some(Bucket {
                size: 1 << 20,
                refill_ms: 100,
            }),
            ops: None,
        },
        added: Ticks(0),
    };
    let nv = pit.to_nvlist();
    let channel = nv.get_nvlist("channels").unwrap();
    assert_eq!(channel.get_string(".schema").unwrap(), "pit_channel");
    assert_eq!(channel.get_number("count").unwrap(), 0x1234);
    assert_eq!(nv.get_number("elapsed").unwrap(), 99);
    // The serde field is stored as the derive would store `RateLimiter`.
    let limiter = nv.get_nvlist("limiter").unwrap();
    assert_eq!(limiter.get_string(".schema").unwrap(), "RateLimiter");
    assert_eq!(
        limiter
            .get_nvlist("bandwidth")
            .unwrap()
            .get_number("size")
            .unwrap(),
        1 << 20
    );
    assert_eq!(limiter.get("ops"), Some(&Value::Null));
    // The added field held its default, so it is left out.
    assert!(!nv.contains("added"));

    // The schema records the stored shape.
    let schema = Pit::schema();
    let ty = |name: &str| {
        schema
            .fields()
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.ty)
            .unwrap()
    };
    assert_eq!(ty("channels"), "PitChannelState");
    assert_eq!(ty("elapsed"), "u64");
    assert_eq!(ty("limiter"), "RateLimiter");
    assert_eq!(ty("added"), "u64");
    // And the nested record's schema is known, for writing down.
    let mut schemas = snapshot_core::record::RecordSchemas::default();
    <Pit as snapshot_core::Field>::record_schemas(&mut schemas);
    assert!(schemas.get("pit_channel").is_some());
}

#[test]
fn a_value_that_does_not_convert_names_the_field() {
    let mut nv = Pit {
        channels: PitChannel::default(),
        elapsed: Ticks(1),
        limiter: RateLimiter::default(),
        added: Ticks(0),
    }
    .to_nvlist();
    nv.get_nvlist_mut("channels").unwrap().insert("mode", 9u64);
    let err = Pit::from_nvlist(&nv).unwrap_err();
    assert_eq!(
        err.to_string(),
        "pit.channels: does not convert back to its type: mode 9 is not a PIT mode (0..=5)"
    );
    assert!(Pit::from_bytes(&nv.pack()).is_err());

    let mut nv = Pit {
        channels: PitChannel::default(),
        elapsed: Ticks(1),
        limiter: RateLimiter::default(),
        added: Ticks(0),
    }
    .to_nvlist();
    let limiter = nv.get_nvlist_mut("limiter").unwrap();
    limiter.insert("ops", NvList::new().with("size", "big"));
    let err = Pit::from_nvlist(&nv).unwrap_err();
    assert_eq!(
        err.to_string(),
        "pit.limiter.ops: not a record: no `.schema` pair"
    );
}

/// A type parameter used only in a converted field needs no `Field`
/// impl: the conversion's functions say what they need.
#[derive(Snapshot, Debug, Clone, PartialEq)]
#[snapshot(name = "holder")]
struct Holder<T: Serialize + serde::de::DeserializeOwned> {
    #[snapshot(serde)]
    value: T,
    count: u32,
}

/// Has serde impls and no `Field`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct OnlySerde {
    a: Vec<u16>,
}

#[test]
fn a_parameter_of_a_converted_field_needs_no_field_impl() {
    let h = Holder {
        value: OnlySerde { a: vec![1, 2] },
        count: 3,
    };
    assert_eq!(round_trip(&h), [h.clone(), h]);
}
