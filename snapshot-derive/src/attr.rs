//! Parsing of `#[snapshot(...)]` attributes. The parsers return no
//! `Result`: every mistake goes to the [`Ctxt`] and parsing goes on, so
//! one build shows every bad attribute. Checks that involve a single
//! attribute live here; checks across attributes live in `check.rs`.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::{LitInt, LitStr, Path};

use crate::ctxt::Ctxt;
use crate::symbol::*;

/// A value set at most once, remembering the tokens that set it so that a
/// later error can point there.
pub struct Attr<T> {
    name: Symbol,
    value: Option<(TokenStream, T)>,
}

impl<T> Attr<T> {
    fn none(name: Symbol) -> Attr<T> {
        Attr { name, value: None }
    }

    fn set<A: ToTokens>(&mut self, cx: &Ctxt, obj: A, value: T) {
        let tokens = obj.into_token_stream();
        if self.value.is_some() {
            cx.error_spanned_by(
                tokens,
                format!("duplicate snapshot attribute `{}`", self.name),
            );
        } else {
            self.value = Some((tokens, value));
        }
    }

    pub fn get(&self) -> Option<&T> {
        self.value.as_ref().map(|(_, v)| v)
    }

    pub fn tokens(&self) -> Option<&TokenStream> {
        self.value.as_ref().map(|(t, _)| t)
    }
}

/// A version number with the literal that wrote it.
#[derive(Clone)]
pub struct Version {
    pub value: u32,
    pub lit: LitInt,
}

impl ToTokens for Version {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.lit.to_tokens(tokens);
    }
}

/// `removed(field = "...", since = N)`.
pub struct Removed {
    pub field: LitStr,
    pub since: Version,
}

/// `migrate(from = N, up = path, down = path, converts(...))`.
pub struct Migrate {
    pub from: Version,
    pub up: Path,
    pub down: Option<Path>,
    pub converts: Vec<Converts>,
}

/// One item of `converts(...)`: `field: OldType` for a field the step
/// retypes (its name before the step; a string for a tuple field's
/// position), or `Variant` for a variant it reshapes or removes.
pub struct Converts {
    pub name: String,
    pub span: TokenStream,
    pub ty: Option<syn::Type>,
}

impl syn::parse::Parse for Converts {
    fn parse(input: syn::parse::ParseStream) -> syn::Result<Self> {
        let (name, span) = if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            (lit.value(), lit.into_token_stream())
        } else if input.peek(LitInt) {
            let lit: LitInt = input.parse()?;
            (lit.base10_digits().to_owned(), lit.into_token_stream())
        } else {
            let ident: syn::Ident = input.call(syn::ext::IdentExt::parse_any)?;
            (ident.to_string(), ident.into_token_stream())
        };
        let ty = if input.peek(syn::Token![:]) {
            input.parse::<syn::Token![:]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        Ok(Converts { name, span, ty })
    }
}

/// The attributes of the struct or enum.
pub struct Container {
    pub name: Attr<LitStr>,
    pub version: Attr<Version>,
    pub removed: Vec<Removed>,
    pub migrations: Vec<Migrate>,
}

/// Where an added field's default comes from.
pub enum Default {
    /// `default`: `Default::default()`.
    Trait,
    /// `default = path`: a function returning the value.
    Path(Path),
}

/// The attributes of a field.
pub struct Field {
    pub rename_from: Attr<LitStr>,
    pub renamed_in: Attr<Version>,
    pub since: Attr<Version>,
    pub default: Attr<Default>,
    pub skip: Attr<()>,
    pub widened_from: Attr<syn::Type>,
    pub widened_in: Attr<Version>,
    /// `with = path`: a module converting the field's type to `stored`.
    pub with: Attr<Path>,
    /// `stored = Type`: the model type `with` converts to.
    pub stored: Attr<syn::Type>,
    /// `serde`: the field is stored through its serde impls.
    pub serde: Attr<()>,
}

impl Field {
    /// Whether any attribute other than `skip` is set.
    pub fn has_history(&self) -> bool {
        self.rename_from.get().is_some()
            || self.renamed_in.get().is_some()
            || self.since.get().is_some()
            || self.default.get().is_some()
            || self.widened_from.get().is_some()
            || self.widened_in.get().is_some()
    }
}

/// A version literal: an integer of at least 1.
fn version(cx: &Ctxt, meta: &ParseNestedMeta) -> Option<Version> {
    let lit: LitInt = match meta.value().and_then(|v| v.parse()) {
        Ok(lit) => lit,
        Err(err) => {
            cx.syn_error(err);
            return None;
        }
    };
    match lit.base10_parse::<u32>() {
        Ok(0) => {
            cx.error_spanned_by(&lit, "versions start at 1");
            None
        }
        Ok(value) => Some(Version { value, lit }),
        Err(err) => {
            cx.syn_error(err);
            None
        }
    }
}

fn parse<T: syn::parse::Parse>(cx: &Ctxt, meta: &ParseNestedMeta) -> Option<T> {
    match meta.value().and_then(|v| v.parse()) {
        Ok(v) => Some(v),
        Err(err) => {
            cx.syn_error(err);
            None
        }
    }
}

/// Every `#[snapshot(...)]` among `attrs`, each nested item given to `item`.
fn each_item(cx: &Ctxt, attrs: &[syn::Attribute], mut item: impl FnMut(&ParseNestedMeta)) {
    for attr in attrs.iter().filter(|a| a.path() == SNAPSHOT) {
        let result = attr.parse_nested_meta(|meta| {
            item(&meta);
            // A value left unread (after an unknown key) must not be taken
            // for the next item.
            if meta.input.peek(syn::Token![=]) {
                let _: TokenStream = meta.value()?.parse()?;
            } else if meta.input.peek(syn::token::Paren) {
                let content;
                syn::parenthesized!(content in meta.input);
                let _: TokenStream = content.parse()?;
            }
            Ok(())
        });
        if let Err(err) = result {
            cx.syn_error(err);
        }
    }
}

impl Container {
    pub fn from_ast(cx: &Ctxt, attrs: &[syn::Attribute]) -> Container {
        let mut out = Container {
            name: Attr::none(NAME),
            version: Attr::none(VERSION),
            removed: Vec::new(),
            migrations: Vec::new(),
        };
        each_item(cx, attrs, |meta| {
            if meta.path == NAME {
                if let Some(lit) = parse::<LitStr>(cx, meta) {
                    if lit.value().is_empty() || lit.value().contains('\0') {
                        cx.error_spanned_by(&lit, "a schema name is non-empty and has no NUL");
                    }
                    out.name.set(cx, &meta.path, lit);
                }
            } else if meta.path == VERSION {
                if let Some(v) = version(cx, meta) {
                    out.version.set(cx, &meta.path, v);
                }
            } else if meta.path == REMOVED {
                if let Some(r) = removed(cx, meta) {
                    out.removed.push(r);
                }
            } else if meta.path == MIGRATE {
                if let Some(m) = migrate(cx, meta) {
                    out.migrations.push(m);
                }
            } else {
                cx.syn_error(meta.error(
                    "unknown snapshot attribute: expected `name`, `version`, `removed` or `migrate`",
                ));
            }
        });
        out
    }
}

fn removed(cx: &Ctxt, meta: &ParseNestedMeta) -> Option<Removed> {
    let mut field = Attr::none(FIELD);
    let mut since = Attr::none(SINCE);
    let result = meta.parse_nested_meta(|inner| {
        if inner.path == FIELD {
            if let Some(lit) = parse::<LitStr>(cx, &inner) {
                field.set(cx, &inner.path, lit);
            }
        } else if inner.path == SINCE {
            if let Some(v) = version(cx, &inner) {
                since.set(cx, &inner.path, v);
            }
        } else {
            return Err(inner.error("unknown key in `removed`: expected `field` or `since`"));
        }
        Ok(())
    });
    if let Err(err) = result {
        cx.syn_error(err);
        return None;
    }
    match (field.value, since.value) {
        (Some((_, field)), Some((_, since))) => Some(Removed { field, since }),
        _ => {
            cx.error_spanned_by(
                &meta.path,
                "`removed` needs `field = \"...\"` and `since = N`",
            );
            None
        }
    }
}

fn migrate(cx: &Ctxt, meta: &ParseNestedMeta) -> Option<Migrate> {
    let mut from = Attr::none(FROM);
    let mut up = Attr::none(UP);
    let mut down = Attr::none(DOWN);
    let mut converts = Vec::new();
    let result = meta.parse_nested_meta(|inner| {
        if inner.path == FROM {
            if let Some(v) = version(cx, &inner) {
                from.set(cx, &inner.path, v);
            }
        } else if inner.path == UP {
            if let Some(p) = parse::<Path>(cx, &inner) {
                up.set(cx, &inner.path, p);
            }
        } else if inner.path == DOWN {
            if let Some(p) = parse::<Path>(cx, &inner) {
                down.set(cx, &inner.path, p);
            }
        } else if inner.path == CONVERTS {
            let content;
            syn::parenthesized!(content in inner.input);
            let items =
                content.parse_terminated(<Converts as syn::parse::Parse>::parse, syn::Token![,])?;
            converts.extend(items);
        } else {
            return Err(inner
                .error("unknown key in `migrate`: expected `from`, `up`, `down` or `converts`"));
        }
        Ok(())
    });
    if let Err(err) = result {
        cx.syn_error(err);
        return None;
    }
    match (from.value, up.value) {
        (Some((_, from)), Some((_, up))) => Some(Migrate {
            from,
            up,
            down: down.value.map(|(_, p)| p),
            converts,
        }),
        _ => {
            cx.error_spanned_by(&meta.path, "`migrate` needs `from = N` and `up = path`");
            None
        }
    }
}

impl Field {
    pub fn from_ast(cx: &Ctxt, attrs: &[syn::Attribute]) -> Field {
        let mut out = Field {
            rename_from: Attr::none(RENAME_FROM),
            renamed_in: Attr::none(RENAMED_IN),
            since: Attr::none(SINCE),
            default: Attr::none(DEFAULT),
            skip: Attr::none(SKIP),
            widened_from: Attr::none(WIDENED_FROM),
            widened_in: Attr::none(WIDENED_IN),
            with: Attr::none(WITH),
            stored: Attr::none(STORED),
            serde: Attr::none(SERDE),
        };
        each_item(cx, attrs, |meta| {
            if meta.path == RENAME_FROM {
                if let Some(lit) = parse::<LitStr>(cx, meta) {
                    out.rename_from.set(cx, &meta.path, lit);
                }
            } else if meta.path == RENAMED_IN {
                if let Some(v) = version(cx, meta) {
                    out.renamed_in.set(cx, &meta.path, v);
                }
            } else if meta.path == SINCE {
                if let Some(v) = version(cx, meta) {
                    out.since.set(cx, &meta.path, v);
                }
            } else if meta.path == DEFAULT {
                if meta.input.peek(syn::Token![=]) {
                    if let Some(p) = parse::<Path>(cx, meta) {
                        out.default.set(cx, &meta.path, Default::Path(p));
                    }
                } else {
                    out.default.set(cx, &meta.path, Default::Trait);
                }
            } else if meta.path == SKIP {
                out.skip.set(cx, &meta.path, ());
            } else if meta.path == WIDENED_FROM {
                if let Some(ty) = parse::<syn::Type>(cx, meta) {
                    out.widened_from.set(cx, &meta.path, ty);
                }
            } else if meta.path == WIDENED_IN {
                if let Some(v) = version(cx, meta) {
                    out.widened_in.set(cx, &meta.path, v);
                }
            } else if meta.path == WITH {
                if let Some(p) = parse::<Path>(cx, meta) {
                    out.with.set(cx, &meta.path, p);
                }
            } else if meta.path == STORED {
                if let Some(ty) = parse::<syn::Type>(cx, meta) {
                    out.stored.set(cx, &meta.path, ty);
                }
            } else if meta.path == SERDE {
                out.serde.set(cx, &meta.path, ());
            } else {
                cx.syn_error(meta.error(
                    "unknown snapshot field attribute: expected `since`, `default`, \
                     `rename_from`, `renamed_in`, `widened_from`, `widened_in`, `with`, \
                     `stored`, `serde` or `skip`",
                ));
            }
        });
        out
    }
}

/// The attributes of an enum variant: `since = N` for one added after
/// the first version (a variant is stored by its name).
pub struct Variant {
    pub since: Attr<Version>,
}

impl Variant {
    pub fn from_ast(cx: &Ctxt, attrs: &[syn::Attribute]) -> Variant {
        let mut out = Variant {
            since: Attr::none(SINCE),
        };
        each_item(cx, attrs, |meta| {
            if meta.path == SINCE {
                if let Some(v) = version(cx, meta) {
                    out.since.set(cx, &meta.path, v);
                }
            } else {
                cx.syn_error(meta.error(
                    "unknown snapshot variant attribute: expected `since` (variants are \
                     stored by name)",
                ));
            }
        });
        out
    }
}
