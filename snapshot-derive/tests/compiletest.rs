//! Misuses of the derive fail to compile with an error at the attribute.
//! Each file under `ui/` holds one mistake; its `.stderr` is the message
//! users see.

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("tests/ui/**/*.rs");
}
