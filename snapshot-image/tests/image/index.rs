use snapshot_image::{Builder, ImageFault, ImagePart, FEATURE_INDEX_EXTENT};
use snapshot_nvlist::{NvList, Value, ValuePath};

use super::util::*;

/// An image of `n` small nvlist sections and one memory section.
fn many(n: usize) -> Vec<u8> {
    let mut b = Builder::new(Vec::new(), "snapshot", Some("test".into())).unwrap();
    for i in 0..n {
        let list = NvList::new().with("value", i as u64);
        b.add_nvlist(&format!("device-{i:04}"), &list).unwrap();
    }
    b.add_memory_slice("memory", &memory(), Default::default())
        .unwrap();
    b.finish().unwrap()
}

fn value_of<S: snapshot_image::Storage>(image: &snapshot_image::Image<S>, i: usize) -> u64 {
    let list = image.read_nvlist(&format!("device-{i:04}")).unwrap();
    list.get_number("value").unwrap()
}

#[test]
fn a_thousand_sections_open_read_and_verify() {
    let bytes = many(1000);
    let image = open(bytes).unwrap();
    let header = image.header();
    assert_eq!(header.sections.len(), 1001);
    assert_eq!(header.incompatible, [FEATURE_INDEX_EXTENT]);
    let index = header.index.expect("the index is in an extent");
    assert!(index.size > 4096, "{index:?}");
    for i in [0, 1, 500, 999] {
        assert_eq!(value_of(&image, i), i as u64);
    }
    assert_eq!(extract_memory(&image).unwrap(), memory());
    assert!(image.verify(2, &|_| {}).is_sound());
}

#[test]
fn few_sections_keep_the_index_in_the_slot() {
    let s = sample(false);
    let image = open(s.image.clone()).unwrap();
    assert!(image.header().index.is_none());
    assert!(image.header().incompatible.is_empty());
    // The slot's nvlist holds the sections, as images always have.
    let size = u64::from_le_bytes(s.image[64..72].try_into().unwrap()) as usize;
    let nv = NvList::unpack(&s.image[72..72 + size]).unwrap();
    assert!(nv.get("sections").is_some() && nv.get("index").is_none());
}

#[test]
fn edits_of_a_large_index_reuse_space_and_survive_reopening() {
    let mut bytes = many(200);
    let index = open(bytes.clone()).unwrap().header().index.unwrap();
    let mut lens = Vec::new();
    let path = ValuePath::parse("device-0150.value").unwrap();
    for round in 0..6u64 {
        let mut image = open(bytes).unwrap();
        image.set_value(&path, Value::Number(round), false).unwrap();
        bytes = image.into_storage();
        let image = open(bytes.clone()).unwrap();
        assert_eq!(value_of(&image, 150), round);
        assert_eq!(value_of(&image, 149), 149);
        assert!(image.verify(1, &|_| {}).is_sound());
        lens.push(bytes.len());
    }
    // The first edit adds room for a second index and section; later
    // ones take turns with the generation before.
    assert!(lens[0] as u64 <= many(200).len() as u64 + index.size + 2 * 4096 + 4096);
    assert!(
        lens.iter().all(|&l| l == lens[0]),
        "edits grew the file: {lens:?}"
    );
}

/// An edit cut after any write or sync, torn or not, leaves the old or
/// the new image, when the index lives in an extent.
#[test]
fn an_edit_of_a_large_index_cut_anywhere_leaves_old_or_new() {
    let base = many(100);
    let path = ValuePath::parse("device-0042.value").unwrap();
    let mut finished = false;
    for budget in 0..12 {
        for torn in [false, true] {
            let mut image = open(Faulty::new(base.clone(), budget, torn)).unwrap();
            let ok = image.set_value(&path, Value::Number(7), false).is_ok();
            finished |= ok;
            let store = image.into_storage();
            for state in store.crash_states() {
                let image = open(state).expect("a cut edit leaves an image that opens");
                let v = value_of(&image, 42);
                assert!(v == 42 || v == 7, "budget {budget}: {v}");
            }
            let durable = value_of(&open(store.durable).unwrap(), 42);
            assert_eq!(durable, if ok { 7 } else { 42 }, "budget {budget}");
        }
    }
    assert!(finished, "the edit finishes with enough budget");
}

#[test]
fn damage_to_the_index_extent_is_named() {
    let bytes = many(100);
    let index = open(bytes.clone()).unwrap().header().index.unwrap();
    let mut damaged = bytes.clone();
    damaged[index.offset as usize + 100] ^= 0x10;
    let e = open(damaged).unwrap_err();
    match e.kind() {
        snapshot_image::ErrorKind::Format { part, fault, .. } => {
            assert_eq!(*part, ImagePart::IndexExtent);
            assert!(matches!(fault, ImageFault::Checksum { .. }), "{fault:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("index extent"), "{e}");
    // Cut inside the extent.
    let cut = bytes[..index.offset as usize + 10].to_vec();
    assert!(open(cut).is_err());
}

/// Replacing memory of an image with a large index, cut after any write,
/// leaves the old or the new memory and every section readable.
#[test]
fn a_memory_replacement_with_a_large_index_cut_anywhere_leaves_old_or_new() {
    let base = many(100);
    let new: Vec<u8> = (0..3 * 4096).map(|i| (i % 13) as u8).collect();
    let options = snapshot_image::MemoryOptions {
        chunk_size: 4096,
        zstd_level: None,
    };
    let mut finished = false;
    for budget in 0..12 {
        for torn in [false, true] {
            let mut image = open(Faulty::new(base.clone(), budget, torn)).unwrap();
            finished |= image
                .replace_memory("memory", &mut new.as_slice(), options, &mut |_| {})
                .is_ok();
            let store = image.into_storage();
            for state in store.crash_states() {
                let image = open(state).unwrap();
                let m = extract_memory(&image).unwrap();
                assert!(m == memory() || m == new, "budget {budget}");
                assert_eq!(value_of(&image, 99), 99);
            }
        }
    }
    assert!(finished, "the replacement finishes with enough budget");
}
