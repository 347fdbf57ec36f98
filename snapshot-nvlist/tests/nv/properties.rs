use proptest::collection::vec;
use proptest::prelude::*;
use snapshot_nvlist::{text, Flags, NvList, NvString, Value};

/// Names and strings: any bytes but NUL, often from a small alphabet so
/// that `NO_UNIQUE` lists get duplicates and `IGNORE_CASE` lists collide.
fn bytes_without_nul() -> impl Strategy<Value = NvString> {
    prop_oneof![
        vec(1u8..=255, 0..12).prop_map(NvString::from),
        "[aAbB]".prop_map(NvString::from),
        "[ -~]{0,10}".prop_map(NvString::from),
    ]
}

fn leaf_value() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::Number),
        bytes_without_nul().prop_map(Value::String),
        vec(any::<u8>(), 1..80).prop_map(Value::Binary),
        vec(any::<bool>(), 1..20).prop_map(Value::BoolArray),
        vec(any::<u64>(), 1..20).prop_map(Value::NumberArray),
        vec(bytes_without_nul(), 1..6).prop_map(Value::StringArray),
    ]
    .boxed()
}

fn list_of(value: BoxedStrategy<Value>) -> BoxedStrategy<NvList> {
    (0u8..4, vec((bytes_without_nul(), value), 0..8))
        .prop_map(|(flags, pairs)| {
            let mut nv = NvList::with_flags(Flags::from_bits(flags).unwrap());
            for (name, value) in pairs {
                // A unique list refuses a repeated name: keep the first.
                let _ = nv.try_push(name, value);
            }
            nv
        })
        .boxed()
}

/// Arbitrary lists, nested up to four deep (shared with `view.rs`).
pub fn arb_list() -> impl Strategy<Value = NvList> {
    list_of(leaf_value()).prop_recursive(4, 64, 6, |inner| {
        let value = prop_oneof![
            4 => leaf_value(),
            1 => inner.clone().prop_map(Value::NvList),
            1 => vec(inner, 1..4).prop_map(Value::NvListArray),
        ];
        list_of(value.boxed())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn pack_unpack_is_identity(nv in arb_list()) {
        let bytes = nv.pack();
        prop_assert_eq!(bytes.len(), nv.packed_size());
        let back = NvList::unpack(&bytes).unwrap();
        prop_assert_eq!(&back, &nv);
        prop_assert_eq!(back.pack(), bytes);
    }

    #[test]
    fn pack_is_deterministic(nv in arb_list()) {
        prop_assert_eq!(nv.pack(), nv.clone().pack());
    }

    #[test]
    fn text_round_trip_is_identity(nv in arb_list()) {
        let dump = text::to_text(&nv);
        let back = text::from_text(&dump).map_err(|e| TestCaseError::fail(format!("{e}\n{dump}")))?;
        prop_assert_eq!(back, nv);
    }

    #[test]
    fn json_round_trip_is_identity(nv in arb_list()) {
        let json = serde_json::to_string(&nv).unwrap();
        let back: NvList = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, nv);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..256)) {
        if let Ok(nv) = NvList::unpack(&bytes) {
            prop_assert_eq!(NvList::unpack(&nv.pack()).unwrap(), nv);
        }
    }

    #[test]
    fn corrupted_buffers_never_panic(nv in arb_list(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = nv.pack();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        if let Ok(decoded) = NvList::unpack(&bytes) {
            prop_assert_eq!(NvList::unpack(&decoded.pack()).unwrap(), decoded);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(src in "[ -~\n]{0,200}") {
        if let Ok(nv) = text::from_text(&src) {
            prop_assert_eq!(text::from_text(&text::to_text(&nv)).unwrap(), nv);
        }
    }
}
