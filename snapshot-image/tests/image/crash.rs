use snapshot_nvlist::Value;
use snapshot_nvlist::ValuePath;

use super::util::*;

const PATH: &str = "devices.vhpet.timers[1].compval";

/// Whether the image's newest slot holds an edit that did not reach the
/// disk whole, so that the generation before it is read.
fn fell_back(bytes: &[u8]) -> bool {
    let image = open(bytes.to_vec()).unwrap();
    let report = image.verify(1, &|_| {});
    report
        .problems
        .iter()
        .any(|p| p.to_string().contains("was not completely written"))
}

fn value(bytes: &[u8]) -> u64 {
    let image = open(bytes.to_vec()).expect("a crashed edit leaves an image that opens");
    // Whatever generation is in force must be whole.
    let report = image.verify(1, &|_| {});
    for problem in &report.problems {
        assert!(
            problem.to_string().starts_with("header slot"),
            "only the slot being written may be damaged: {problem}"
        );
    }
    assert!(extract_all(&image).is_ok());
    match ValuePath::parse(PATH)
        .unwrap()
        .get(&image.read_nvlist("devices").unwrap())
        .unwrap()
    {
        Value::Number(n) => n,
        other => panic!("{other:?}"),
    }
}

/// Cuts `set` after each of its writes and syncs, torn or not, in both
/// slot directions, and checks what was written and every state the disk
/// may have kept of the writes since the last sync: an edit syncs once,
/// so its section may be lost or torn while its header slot arrives, and
/// then the generation before it is read.
#[test]
fn an_edit_cut_after_any_write_leaves_the_old_or_the_new_image() {
    let mut base = sample(false).image;
    let path = ValuePath::parse(PATH).unwrap();
    let mut fallbacks = 0;
    for round in 0..3u64 {
        let old = value(&base);
        let new = 1000 + round;
        let mut completed_at = None;
        for budget in 0..12 {
            for torn in [false, true] {
                let mut image = open(Faulty::new(base.clone(), budget, torn)).unwrap();
                let result = image.set_value(&path, Value::Number(new), false);
                let store = image.into_storage();
                for state in store.crash_states() {
                    let v = value(&state);
                    assert!(v == old || v == new, "budget {budget}: value {v}");
                    if fell_back(&state) {
                        assert_eq!(v, old, "budget {budget}: fell back to the old value");
                        fallbacks += 1;
                    }
                }
                if result.is_ok() {
                    assert_eq!(value(&store.durable), new, "a finished edit is durable");
                    completed_at.get_or_insert(budget);
                } else {
                    assert_eq!(value(&store.durable), old, "budget {budget}");
                }
            }
        }
        assert!(
            completed_at.is_some(),
            "the edit finishes with enough budget"
        );
        let mut image = open(base).unwrap();
        image.set_value(&path, Value::Number(new), false).unwrap();
        base = image.into_storage();
    }
    assert!(fallbacks > 0, "a header slot without its section was read");
}

/// After a failed edit the file may hold a generation the handle does not
/// know; editing through it again could overwrite that generation's data.
#[test]
fn a_handle_whose_edit_failed_refuses_further_edits() {
    let path = ValuePath::parse(PATH).unwrap();
    let mut image = open(Faulty::new(sample(false).image, 2, false)).unwrap();
    assert!(image.set_value(&path, Value::Number(5), false).is_err());
    let e = image.set_value(&path, Value::Number(6), false).unwrap_err();
    assert!(e.to_string().contains("reopen the image"), "{e}");
    // Reopened, the store shows one of the two generations and edits.
    let mut store = image.into_storage();
    store.budget = usize::MAX;
    let mut image = open(store).unwrap();
    image.set_value(&path, Value::Number(7), false).unwrap();
}

/// Replacing memory cut after any write leaves the old or the new memory.
#[test]
fn a_memory_replacement_cut_anywhere_leaves_old_or_new_memory() {
    use snapshot_image::MemoryOptions;
    let s = sample(false);
    let new: Vec<u8> = (0..3 * 4096).map(|i| (i % 13) as u8).collect();
    let options = MemoryOptions {
        chunk_size: 4096,
        zstd_level: None,
    };
    let mut finished = false;
    for budget in 0..12 {
        for torn in [false, true] {
            let mut image = open(Faulty::new(s.image.clone(), budget, torn)).unwrap();
            let ok = image
                .replace_memory("memory", &mut new.as_slice(), options, &mut |_| {})
                .is_ok();
            finished |= ok;
            let store = image.into_storage();
            for state in store.crash_states() {
                let image = open(state).unwrap();
                let memory = extract_memory(&image).unwrap();
                assert!(memory == s.memory || memory == new, "budget {budget}");
                assert_eq!(image.read_section("devices").unwrap(), s.devices);
            }
            if ok {
                let memory = extract_memory(&open(store.durable).unwrap()).unwrap();
                assert_eq!(memory, new);
            }
        }
    }
    assert!(finished);
}

/// Adding a section cut after any write leaves the image without it or
/// with it whole.
#[test]
fn a_section_added_and_cut_anywhere_is_absent_or_whole() {
    use snapshot_image::SectionKind;
    let s = sample(false);
    let list = snapshot_nvlist::NvList::new()
        .with("pages", vec![5u64; 300])
        .pack();
    let mut finished = false;
    for budget in 0..8 {
        for torn in [false, true] {
            let mut image = open(Faulty::new(s.image.clone(), budget, torn)).unwrap();
            let ok = image
                .put_section("workingset", SectionKind::NvList, &list)
                .is_ok();
            finished |= ok;
            let store = image.into_storage();
            for state in store.crash_states() {
                let image = open(state).unwrap();
                if let Ok(bytes) = image.read_section("workingset") {
                    assert_eq!(bytes, list, "budget {budget}");
                }
                assert_eq!(extract_memory(&image).unwrap(), s.memory);
            }
            if ok {
                let image = open(store.durable).unwrap();
                assert_eq!(image.read_section("workingset").unwrap(), list);
            }
        }
    }
    assert!(finished);
}
