snapshot_core::compat_tests! {
    registry: snapshot_core::compat::Registry::new(),
    schema: "../schemas",
    fixtures: "fixtures",
    types: [],
}

fn main() {}
