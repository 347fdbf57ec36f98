//! Arbitrary bytes into the checked view: it must never panic, must judge
//! every input as `unpack` does (the same error when both refuse), and
//! must read what `unpack` decodes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapshot_nvlist::{ListView, NvList, Value, ValueView, View};

/// Whether the view's list reads as `tree`, pair by pair.
fn same(view: ListView<'_>, tree: &NvList) -> bool {
    view.flags() == tree.flags()
        && view.len() == tree.len()
        && view
            .iter()
            .zip(tree)
            .all(|((vn, vv), (tn, tv))| vn == tn.as_bytes() && same_value(vv, tv))
}

fn same_value(view: ValueView<'_>, tree: &Value) -> bool {
    match (view, tree) {
        (ValueView::Null, Value::Null) => true,
        (ValueView::Bool(v), Value::Bool(t)) => v == *t,
        (ValueView::Number(v), Value::Number(t)) => v == *t,
        (ValueView::String(v), Value::String(t)) => v == t.as_bytes(),
        (ValueView::NvList(v), Value::NvList(t)) => same(v, t),
        (ValueView::Binary(v), Value::Binary(t)) => v == &t[..],
        (ValueView::BoolArray(v), Value::BoolArray(t)) => v.iter().eq(t.iter().copied()),
        (ValueView::NumberArray(v), Value::NumberArray(t)) => v.iter().eq(t.iter().copied()),
        (ValueView::StringArray(v), Value::StringArray(t)) => {
            v.len() == t.len() && v.iter().eq(t.iter().map(|s| s.as_bytes()))
        }
        (ValueView::NvListArray(v), Value::NvListArray(t)) => {
            v.len() == t.len() && v.zip(t).all(|(v, t)| same(v, t))
        }
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    match (View::parse(data), NvList::unpack(data)) {
        (Ok(view), Ok(tree)) => {
            assert!(same(view.root(), &tree), "the view reads another list");
            for (name, _) in &tree {
                let found = view.root().get(name.as_bytes()).map(|v| v.ty());
                assert_eq!(found, tree.get(name.as_bytes()).map(Value::ty));
            }
        }
        (Err(v), Err(t)) => assert_eq!(v, t, "the view refuses with another error"),
        (v, t) => panic!("view {:?}, unpack {:?}", v.is_ok(), t.is_ok()),
    }
});
