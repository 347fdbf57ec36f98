//! `#[derive(Snapshot)]`: versioned records for `snapshot-core`.
//!
//! Use it through `snapshot_core::Snapshot`, which re-exports it next to
//! the trait of the same name.

mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;
mod symbol;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

#[proc_macro_derive(Snapshot, attributes(snapshot))]
pub fn derive_snapshot(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand::derive(&input) {
        Ok(tokens) => tokens.into(),
        Err(err) => {
            let mut out = err.to_compile_error();
            out.extend(expand::fallback(&input));
            out.into()
        }
    }
}
