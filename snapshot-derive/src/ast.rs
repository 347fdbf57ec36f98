//! The derive input, parsed: the type, its fields and their attributes.
//! Every node keeps the `syn` node it came from, so later stages can point
//! errors at the user's tokens.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, Member};

use crate::attr;
use crate::ctxt::Ctxt;

pub struct Container<'a> {
    pub ident: &'a Ident,
    pub attrs: attr::Container,
    pub body: Body<'a>,
    pub original: &'a DeriveInput,
}

pub enum Body<'a> {
    Struct(Vec<Field<'a>>),
    Enum(Vec<Variant<'a>>),
}

pub struct Variant<'a> {
    pub ident: &'a Ident,
    pub style: Style,
    pub fields: Vec<Field<'a>>,
    pub attrs: attr::Variant,
}

/// How fields are written in the source, for patterns and constructors.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Named,
    Tuple,
    Unit,
}

pub struct Field<'a> {
    /// `self.member` in the source.
    pub member: Member,
    /// The current stored name: the identifier, or the position of a tuple
    /// field.
    pub name: String,
    pub ty: &'a syn::Type,
    pub attrs: attr::Field,
    pub original: &'a syn::Field,
}

/// How a field with `with` or `serde` becomes the model type it is
/// stored as.
pub struct Conversion {
    /// The module of `to_stored` and `from_stored`.
    pub module: TokenStream,
    /// The type `to_stored` returns.
    pub stored: TokenStream,
    /// Where errors about the conversion point: the attribute.
    pub span: Span,
    /// Whether it is the serde bridge, whose `from_stored` names the
    /// field in its errors itself.
    pub serde: bool,
}

impl Field<'_> {
    /// The field's conversion, when it is stored through one: `with =
    /// module, stored = Type`, or `serde` (through the bridge, as a
    /// `Value`).
    pub fn conversion(&self) -> Option<Conversion> {
        if let (Some(module), Some(stored)) = (self.attrs.with.get(), self.attrs.stored.get()) {
            return Some(Conversion {
                module: module.to_token_stream(),
                stored: stored.to_token_stream(),
                span: module.span(),
                serde: false,
            });
        }
        let span = self.attrs.serde.tokens()?.span();
        Some(Conversion {
            module: quote_spanned!(span=> ::snapshot_core::__private::serde_field),
            stored: quote!(::snapshot_core::__private::Value),
            span,
            serde: true,
        })
    }
}

impl<'a> Container<'a> {
    pub fn from_ast(cx: &Ctxt, input: &'a DeriveInput) -> Option<Container<'a>> {
        let attrs = attr::Container::from_ast(cx, &input.attrs);
        let body = match &input.data {
            Data::Struct(data) => Body::Struct(fields(cx, &data.fields).1),
            Data::Enum(data) => Body::Enum(
                data.variants
                    .iter()
                    .map(|v| {
                        let attrs = attr::Variant::from_ast(cx, &v.attrs);
                        let (style, fields) = fields(cx, &v.fields);
                        Variant {
                            ident: &v.ident,
                            style,
                            fields,
                            attrs,
                        }
                    })
                    .collect(),
            ),
            Data::Union(data) => {
                cx.error_spanned_by(data.union_token, "Snapshot cannot be derived for a union");
                return None;
            }
        };
        Some(Container {
            ident: &input.ident,
            attrs,
            body,
            original: input,
        })
    }

    /// The stored schema name: `name = "..."`, or the type's name.
    pub fn name(&self) -> String {
        self.attrs
            .name
            .get()
            .map_or_else(|| self.ident.to_string(), |lit| lit.value())
    }

    /// The current version: `version = N`, or 1.
    pub fn version(&self) -> u32 {
        self.attrs.version.get().map_or(1, |v| v.value)
    }
}

fn fields<'a>(cx: &Ctxt, fields: &'a Fields) -> (Style, Vec<Field<'a>>) {
    let style = match fields {
        Fields::Named(_) => Style::Named,
        Fields::Unnamed(_) => Style::Tuple,
        Fields::Unit => Style::Unit,
    };
    let fields = fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let (member, name) = match &field.ident {
                Some(ident) => (Member::Named(ident.clone()), unraw(ident)),
                None => (Member::Unnamed(i.into()), i.to_string()),
            };
            Field {
                member,
                name,
                ty: &field.ty,
                attrs: attr::Field::from_ast(cx, &field.attrs),
                original: field,
            }
        })
        .collect();
    (style, fields)
}

/// The name of an identifier without its `r#` prefix.
fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
}
