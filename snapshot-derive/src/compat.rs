//! `compat_tests!`: the compatibility tests of a program's record types,
//! one per type per recorded version, from the history on disk.
//!
//! The versions are read when the macro expands, so the tests follow the
//! committed history; every recorded file is also `include_bytes!`-ed so
//! that editing one rebuilds the tests. A version recorded after the last
//! build is still checked by each type's `all_versions` test, and gets its
//! own test at the next build.

use std::path::{Path, PathBuf};

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{bracketed, Expr, Ident, LitStr, Token};

pub struct Input {
    registry: Expr,
    schemas: LitStr,
    fixtures: LitStr,
    types: Vec<Ident>,
}

/// Parses `key:` and checks it is the one expected at this place.
fn key(input: ParseStream, expected: &str) -> syn::Result<()> {
    let ident: Ident = input.parse()?;
    if ident != expected {
        return Err(syn::Error::new(
            ident.span(),
            format!("expected `{expected}:` (compat_tests! takes registry, schemas, fixtures, types, in this order)"),
        ));
    }
    input.parse::<Token![:]>()?;
    Ok(())
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        key(input, "registry")?;
        let registry = input.parse()?;
        input.parse::<Token![,]>()?;
        key(input, "schemas")?;
        let schemas = input.parse()?;
        input.parse::<Token![,]>()?;
        key(input, "fixtures")?;
        let fixtures = input.parse()?;
        input.parse::<Token![,]>()?;
        key(input, "types")?;
        let content;
        bracketed!(content in input);
        let types = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
        let _ = input.parse::<Option<Token![,]>>()?;
        Ok(Input {
            registry,
            schemas,
            fixtures,
            types: types.into_iter().collect(),
        })
    }
}

/// The versions recorded as `DIR/NAME/vN.EXT`, with their paths; none
/// when the directory cannot be read (the tests then say what is missing).
fn recorded(dir: &Path, name: &str, ext: &str) -> Vec<(u32, PathBuf)> {
    snapshot_layout::versions(dir, name, ext).unwrap_or_default()
}

pub fn expand(input: Input) -> TokenStream {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let (schemas, fixtures) = (input.schemas.value(), input.fixtures.value());
    let (schemas_dir, fixtures_dir) = (root.join(&schemas), root.join(&fixtures));
    let registry = &input.registry;
    let names: Vec<String> = input.types.iter().map(|t| t.to_string()).collect();
    let modules = input.types.iter().zip(&names).map(|(ident, name)| {
        let schema_files = recorded(&schemas_dir, name, "schema");
        let fixture_files = recorded(&fixtures_dir, name, "nv");
        let mut versions: Vec<u32> = schema_files
            .iter()
            .chain(&fixture_files)
            .map(|(v, _)| *v)
            .collect();
        versions.sort_unstable();
        versions.dedup();
        let tracked = schema_files.iter().chain(&fixture_files).map(|(_, p)| {
            let p = p.display().to_string();
            quote!(
                const _: &[u8] = include_bytes!(#p);
            )
        });
        let per_version = versions.iter().map(|v| {
            let test = format_ident!("v{}", v);
            quote! {
                #[test]
                fn #test() {
                    super::__compat_suite().test_version(#name, #v);
                }
            }
        });
        quote! {
            mod #ident {
                #(#tracked)*

                #[test]
                fn schema() {
                    super::__compat_suite().test_schema(#name);
                }

                #[test]
                fn all_versions() {
                    super::__compat_suite().test_all_versions(#name);
                }

                #(#per_version)*
            }
        }
    });
    quote! {
        fn __compat_suite() -> ::snapshot_core::__private::Suite {
            let root = ::std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            ::snapshot_core::__private::Suite {
                registry: #registry,
                schemas: root.join(#schemas),
                fixtures: root.join(#fixtures),
            }
        }

        #[test]
        fn every_type_is_listed() {
            __compat_suite().test_listed(&[#(#names),*]);
        }

        #(#modules)*
    }
}
