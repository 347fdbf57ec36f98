//! Code generation: the `Snapshot` and `Field` impls of a checked type.
//! Generated code names only `::snapshot_core::__private` items, and sits
//! in `const _: () = { ... }` so its imports stay private.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{DeriveInput, LitByteStr};

use crate::ast::{Body, Container, Field, Style, Variant};
use crate::attr;
use crate::check;
use crate::ctxt::Ctxt;

pub fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let cx = Ctxt::new();
    let Some(cont) = Container::from_ast(&cx, input) else {
        cx.check()?;
        unreachable!("from_ast fails only after reporting an error");
    };
    check::check(&cx, &cont);
    cx.check()?;
    Ok(impl_snapshot(&cont))
}

/// After errors, impls with no behaviour keep the user's other uses of the
/// type from failing too, so only the real mistakes are shown.
pub fn fallback(input: &DeriveInput) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        const _: () = {
            use ::snapshot_core::__private as __sp;
            impl #impl_generics __sp::Snapshot for #ident #ty_generics #where_clause {
                const NAME: &'static str = "";
                const VERSION: u32 = 1;
                fn schema() -> __sp::Schema { ::core::unreachable!() }
                fn last_size() -> &'static __sp::AtomicUsize { ::core::unreachable!() }
                fn write_record(&self, _: &mut __sp::Writer, _: bool) { ::core::unreachable!() }
                fn decode_current(_: &__sp::NvList) -> __sp::Result<Self> { ::core::unreachable!() }
                fn read_record(_: &mut __sp::Reader<'_>) -> __sp::Option<Self> { ::core::unreachable!() }
            }
            impl #impl_generics __sp::Field for #ident #ty_generics #where_clause {
                fn to_value(&self) -> __sp::Value { ::core::unreachable!() }
                fn from_value(_: &__sp::Value) -> __sp::Result<Self> { ::core::unreachable!() }
            }
        };
    }
}

fn impl_snapshot(cont: &Container) -> TokenStream {
    let ident = cont.ident;
    let mut generics = cont.original.generics.clone();
    // A type parameter in a stored type must be storable; one used only
    // in a skipped field or in a converted field's own type need not be
    // (the conversion's functions say what they need).
    let stored_types: Vec<TokenStream> = match &cont.body {
        Body::Struct(fields) => stored(fields).map(stored_type).collect(),
        Body::Enum(variants) => variants
            .iter()
            .flat_map(|v| stored(&v.fields))
            .map(stored_type)
            .collect(),
    };
    let mut used = std::collections::HashSet::new();
    for ty in &stored_types {
        idents(ty.clone(), &mut used);
    }
    let params: Vec<_> = generics
        .type_params()
        .map(|p| p.ident.clone())
        .filter(|p| used.contains(p))
        .collect();
    let where_clause = generics.make_where_clause();
    for param in params {
        where_clause
            .predicates
            .push(syn::parse_quote!(#param: ::snapshot_core::__private::Field));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let name = cont.name();
    let version = cont.version();
    let schema = schema(cont);
    let field_types = stored_types;
    let (encode, decode, read) = match &cont.body {
        Body::Struct(fields) => (
            encode_struct(cont, fields),
            decode_struct(fields),
            read_struct(fields),
        ),
        Body::Enum(variants) => (
            encode_enum(cont, variants),
            decode_enum(variants),
            read_enum(variants),
        ),
    };
    quote! {
        const _: () = {
            use ::snapshot_core::__private as __sp;
            impl #impl_generics __sp::Snapshot for #ident #ty_generics #where_clause {
                const NAME: &'static str = #name;
                const VERSION: u32 = #version;
                fn schema() -> __sp::Schema {
                    #schema
                }
                fn last_size() -> &'static __sp::AtomicUsize {
                    static LAST_SIZE: __sp::AtomicUsize = __sp::AtomicUsize::new(0);
                    &LAST_SIZE
                }
                fn write_record(&self, w: &mut __sp::Writer, omit_defaults: bool) {
                    #encode
                }
                fn decode_current(nv: &__sp::NvList) -> __sp::Result<Self> {
                    #decode
                }
                fn read_record(r: &mut __sp::Reader<'_>) -> __sp::Option<Self> {
                    #read
                }
            }
            impl #impl_generics __sp::Field for #ident #ty_generics #where_clause {
                fn to_value(&self) -> __sp::Value {
                    __sp::Value::NvList(__sp::Snapshot::to_nvlist(self))
                }
                fn from_value(value: &__sp::Value) -> __sp::Result<Self> {
                    __sp::record_from_value(value)
                }
                fn write(&self, name: &str, w: &mut __sp::Writer) {
                    __sp::write_record(self, name, w)
                }
                fn write_seq(items: &[Self], name: &str, w: &mut __sp::Writer) {
                    __sp::write_records(items, name, w)
                }
                fn read(r: &mut __sp::Reader<'_>, p: &__sp::Pair<'_>) -> __sp::Option<Self> {
                    __sp::read_nested(r, p)
                }
                fn read_seq(
                    r: &mut __sp::Reader<'_>,
                    p: &__sp::Pair<'_>,
                ) -> __sp::Option<__sp::vec::Vec<Self>> {
                    __sp::read_nested_seq(r, p)
                }
                fn seq_to_value(items: &[Self]) -> __sp::Value {
                    __sp::records_to_value(items)
                }
                fn seq_from_value(value: &__sp::Value) -> __sp::Result<__sp::vec::Vec<Self>> {
                    __sp::records_from_value(value)
                }
                fn record_schemas(out: &mut __sp::RecordSchemas) {
                    // Once per type: a recursive type ends here.
                    if out.add::<Self>() {
                        #(<#field_types as __sp::Field>::record_schemas(out);)*
                    }
                }
            }
        };
    }
}

/// The oldest reader version able to read a record in which every added
/// field holds its default: any rename, removal or migration changes the
/// shape an older reader expects.
fn base_min_reader(cont: &Container) -> u32 {
    let renames = match &cont.body {
        Body::Struct(fields) => fields
            .iter()
            .filter_map(|f| f.attrs.renamed_in.get().map(|v| v.value))
            .max(),
        Body::Enum(_) => None,
    };
    let removals = cont.attrs.removed.iter().map(|r| r.since.value).max();
    let migrations = cont.attrs.migrations.iter().map(|m| m.from.value + 1).max();
    [renames, removals, migrations]
        .into_iter()
        .flatten()
        .fold(1, u32::max)
}

/// The expression of an added field's default value, spanned at the
/// attribute so a type mismatch is reported there.
fn default_expr(field: &Field) -> Option<TokenStream> {
    let ty = field.ty;
    Some(match field.attrs.default.get()? {
        attr::Default::Trait => {
            let span = field
                .attrs
                .default
                .tokens()
                .map_or(Span::call_site(), |t| t.span());
            quote_spanned!(span=> <#ty as ::core::default::Default>::default())
        }
        attr::Default::Path(path) => quote_spanned!(path.span()=> { let d: #ty = #path(); d }),
    })
}

/// For a widened field: the older type's name, the version that widened
/// it, and a function checking that a stored value fits the older type
/// (spanned at the attribute, where a type without `Field` is reported).
fn widened(field: &Field) -> Option<(String, u32, TokenStream)> {
    let from = field.attrs.widened_from.get()?;
    let widened_in = field.attrs.widened_in.get()?.value;
    Some((type_name(from), widened_in, fits(from)))
}

/// A function checking that a stored value reads as the older type `ty`
/// (spanned at the type, where one without `Field` is reported).
fn fits(ty: &syn::Type) -> TokenStream {
    quote_spanned! {ty.span()=>
        |value: &__sp::Value| <#ty as __sp::Field>::from_value(value).map(|_| ())
    }
}

/// The field's doc comment, lines joined by spaces, so that tools can
/// show what a stored value means without the source.
fn doc(field: &syn::Field) -> String {
    let lines: Vec<String> = field
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value:
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }),
                ..
            }) => Some(s.value().trim().to_owned()),
            _ => None,
        })
        .filter(|l| !l.is_empty())
        .collect();
    lines.join(" ")
}

/// Every identifier in `tokens`, groups included.
fn idents(tokens: TokenStream, out: &mut std::collections::HashSet<syn::Ident>) {
    for tree in tokens {
        match tree {
            proc_macro2::TokenTree::Ident(i) => {
                out.insert(i);
            }
            proc_macro2::TokenTree::Group(g) => idents(g.stream(), out),
            _ => {}
        }
    }
}

/// The model type a field is stored as: its own, or its conversion's.
fn stored_type(field: &Field) -> TokenStream {
    match field.conversion() {
        Some(c) => c.stored,
        None => field.ty.to_token_stream(),
    }
}

/// The type name a field's schema records: what is stored, so that tools
/// and the checker read the stored shape. A `serde` field keeps its own
/// type's name, which stays when the type moves onto the derive.
fn schema_type(field: &Field) -> String {
    match (field.attrs.with.get(), field.attrs.stored.get()) {
        (Some(_), Some(stored)) => type_name(stored),
        _ => type_name(field.ty),
    }
}

/// A reference to the stored form of `value` (a reference to the field):
/// the reference itself, or one to what the conversion's `to_stored`
/// gives. The function is taken as a pointer of the signature it must
/// have, spanned at the attribute, so a wrong one is reported there; the
/// value keeps its own spans (and hygiene).
fn to_stored(field: &Field, value: TokenStream) -> TokenStream {
    match field.conversion() {
        Some(c) => {
            let (module, stored, ty) = (&c.module, &c.stored, field.ty);
            let f = quote_spanned! {c.span=>
                { let f: fn(&#ty) -> #stored = #module::to_stored; f }
            };
            quote!(&(#f)(#value))
        }
        None => value,
    }
}

/// The field's value from its stored form `value`: itself, or what the
/// conversion's `from_stored` gives (taken as a pointer of the signature
/// it must have, as in [`to_stored`]). On the checked path a failure is an
/// error naming the field; on the fast path it sends the input to the
/// checked path.
fn from_stored(field: &Field, value: TokenStream, checked: bool) -> TokenStream {
    let Some(c) = field.conversion() else {
        return value;
    };
    let (module, stored, ty, name) = (&c.module, &c.stored, field.ty, &field.name);
    let call = if c.serde {
        let f = quote_spanned! {c.span=>
            { let f: fn(#stored, &str) -> __sp::Result<#ty> = #module::from_stored; f }
        };
        quote!((#f)(#value, #name))
    } else {
        let f = quote_spanned! {c.span=>
            { let f: fn(#stored) -> __sp::Result<#ty, _> = #module::from_stored; f }
        };
        quote!(__sp::converted((#f)(#value), #name))
    };
    if checked {
        quote!(#call?)
    } else {
        quote!(__sp::Result::ok(#call)?)
    }
}

fn since(field: &Field) -> u32 {
    field.attrs.since.get().map_or(1, |v| v.value)
}

fn stored<'f, 'a>(fields: &'f [Field<'a>]) -> impl Iterator<Item = &'f Field<'a>> {
    fields.iter().filter(|f| f.attrs.skip.get().is_none())
}

fn field_schemas(fields: &[Field]) -> Vec<TokenStream> {
    stored(fields)
        .map(|f| {
            let name = &f.name;
            let ty = schema_type(f);
            let since = since(f);
            let default = match (default_expr(f), f.attrs.default.get()) {
                (Some(expr), Some(kind)) => {
                    let source = match kind {
                        attr::Default::Trait => "Default::default()".to_owned(),
                        attr::Default::Path(p) => type_name(&p),
                    };
                    let value = to_stored(f, quote!(&#expr));
                    quote!(__sp::Some(__sp::DefaultValue {
                        source: #source,
                        value: || __sp::Field::to_value(#value),
                    }))
                }
                _ => quote!(__sp::None),
            };
            let former = match (f.attrs.rename_from.get(), f.attrs.renamed_in.get()) {
                (Some(lit), Some(v)) => {
                    let v = v.value;
                    quote!(__sp::FormerName { name: #lit, renamed_in: #v })
                }
                _ => quote!(),
            };
            let widened = match widened(f) {
                Some((from, widened_in, fits)) => quote! {
                    __sp::Some(__sp::Widened { from: #from, widened_in: #widened_in, fits: #fits })
                },
                None => quote!(__sp::None),
            };
            let doc = doc(f.original);
            quote!(__sp::FieldSchema {
                name: #name,
                ty: #ty,
                doc: #doc,
                since: #since,
                default: #default,
                former_names: __sp::vec![#former],
                widened: #widened,
            })
        })
        .collect()
}

fn schema(cont: &Container) -> TokenStream {
    let name = cont.name();
    let version = cont.version();
    let body = match &cont.body {
        Body::Struct(fields) => {
            let fields = field_schemas(fields);
            quote!(__sp::Body::Struct(__sp::vec![#(#fields),*]))
        }
        Body::Enum(variants) => {
            let variants = variants.iter().map(|v| {
                let name = v.ident.to_string();
                let since = v.attrs.since.get().map_or(1, |s| s.value);
                let fields = field_schemas(&v.fields);
                quote!(__sp::Variant { name: #name, since: #since, fields: __sp::vec![#(#fields),*] })
            });
            quote!(__sp::Body::Enum(__sp::vec![#(#variants),*]))
        }
    };
    let removed = cont.attrs.removed.iter().map(|r| {
        let (field, since) = (&r.field, r.since.value);
        quote!(__sp::Removed { name: #field, since: #since })
    });
    let mut migrations: Vec<_> = cont.attrs.migrations.iter().collect();
    migrations.sort_by_key(|m| m.from.value);
    let migrations = migrations.iter().map(|m| {
        let from = m.from.value;
        let up = &m.up;
        let up = quote_spanned!(up.span()=> #up);
        let down = match &m.down {
            Some(path) => quote_spanned!(path.span()=> __sp::Some(#path)),
            None => quote!(__sp::None),
        };
        let converts = m.converts.iter().map(|c| {
            let name = &c.name;
            let from = match &c.ty {
                Some(ty) => {
                    let ty_name = type_name(ty);
                    let fits = fits(ty);
                    quote!(__sp::Some(__sp::OlderType { ty: #ty_name, fits: #fits }))
                }
                None => quote!(__sp::None),
            };
            quote!(__sp::Converts { name: #name, from: #from })
        });
        quote!(__sp::Migration {
            from: #from,
            up: #up,
            down: #down,
            converts: __sp::vec![#(#converts),*],
        })
    });
    quote! {
        __sp::Schema {
            name: #name,
            version: #version,
            body: #body,
            removed: __sp::vec![#(#removed),*],
            migrations: __sp::vec![#(#migrations),*],
        }
    }
}

/// Statements writing the stored fields, each read through `access(field)`.
/// Added fields holding their default are left out when `omit_defaults`
/// is set, and every other added field raises the minimum reader.
fn push_fields(fields: &[Field], access: impl Fn(&Field) -> TokenStream) -> Vec<TokenStream> {
    stored(fields)
        .map(|f| {
            let name = &f.name;
            let stored = to_stored(f, access(f));
            let value = quote!(__v);
            let since = since(f);
            // A value that does not fit the older type needs a reader of
            // the widened version at least.
            let widening = match widened(f) {
                Some((_, widened_in, fits)) => quote! {
                    if (#fits)(&__sp::Field::to_value(#value)).is_err() {
                        min_reader = min_reader.max(#widened_in);
                    }
                },
                None => quote!(),
            };
            if since == 1 {
                return quote! {
                    {
                        let __v = #stored;
                        #widening
                        __sp::Field::write(#value, #name, w);
                    }
                };
            }
            let is_default = match default_expr(f) {
                Some(expr) => {
                    let default = to_stored(f, quote!(&#expr));
                    quote! {
                        omit_defaults
                            && __sp::Field::to_value(#value) == __sp::Field::to_value(#default)
                    }
                }
                None => quote!(false),
            };
            quote! {
                {
                    let __v = #stored;
                    if !(#is_default) {
                        min_reader = min_reader.max(#since);
                        #widening
                        __sp::Field::write(#value, #name, w);
                    }
                }
            }
        })
        .collect()
}

fn encode_struct(cont: &Container, fields: &[Field]) -> TokenStream {
    let base = base_min_reader(cont);
    let pushes = push_fields(fields, |f| {
        let member = &f.member;
        quote!(&self.#member)
    });
    quote! {
        let _ = omit_defaults;
        __sp::start(w, Self::NAME, Self::VERSION);
        let mut min_reader: u32 = #base;
        #(#pushes)*
        __sp::finish(w, min_reader, Self::VERSION);
    }
}

fn binding(field: &Field) -> syn::Ident {
    match &field.member {
        syn::Member::Named(ident) => format_ident!("__f_{}", ident),
        syn::Member::Unnamed(index) => format_ident!("__f_{}", index.index),
    }
}

fn encode_enum(cont: &Container, variants: &[Variant]) -> TokenStream {
    let base = base_min_reader(cont);
    let arms = variants.iter().map(|v| {
        let ident = v.ident;
        let name = ident.to_string();
        let pattern = pattern(v, |f| {
            if f.attrs.skip.get().is_some() {
                quote!(_)
            } else {
                binding(f).into_token_stream()
            }
        });
        let pushes = push_fields(&v.fields, |f| binding(f).into_token_stream());
        // A variant added later needs a reader that knows it.
        let since = v.attrs.since.get().map(|s| {
            let s = s.value;
            quote!(min_reader = min_reader.max(#s);)
        });
        quote! {
            Self::#pattern => {
                __sp::variant_name(w, #name);
                #since
                #(#pushes)*
            }
        }
    });
    quote! {
        let _ = omit_defaults;
        __sp::start(w, Self::NAME, Self::VERSION);
        let mut min_reader: u32 = #base;
        match self {
            #(#arms)*
        }
        __sp::finish(w, min_reader, Self::VERSION);
    }
}

/// `Variant { a: x, b: y }`, `Variant(x, y)` or `Variant`, with each
/// field's part given by `part`.
fn pattern(v: &Variant, part: impl Fn(&Field) -> TokenStream) -> TokenStream {
    let ident = v.ident;
    let parts = v.fields.iter().map(|f| {
        let p = part(f);
        match &f.member {
            syn::Member::Named(m) => quote!(#m: #p),
            syn::Member::Unnamed(_) => p,
        }
    });
    match v.style {
        Style::Named => quote!(#ident { #(#parts),* }),
        Style::Tuple => quote!(#ident ( #(#parts),* )),
        Style::Unit => quote!(#ident),
    }
}

/// One `Option` slot per stored field, filled while the pairs are read.
fn declare_slots(fields: &[Field]) -> TokenStream {
    let slots = stored(fields).map(|f| {
        let slot = binding(f);
        let ty = stored_type(f);
        quote!(let mut #slot: __sp::Option<#ty> = __sp::None;)
    });
    quote!(#(#slots)*)
}

/// A field's value once the pairs are read: `Default` when skipped, its
/// default when its slot is empty and it has one, else a missing field
/// (an error on the checked path, the checked path on the fast one).
fn field_value(f: &Field, checked: bool) -> TokenStream {
    if f.attrs.skip.get().is_some() {
        return quote!(::core::default::Default::default());
    }
    let (slot, name) = (binding(f), &f.name);
    match default_expr(f) {
        Some(expr) => {
            let value = from_stored(f, quote!(v), checked);
            quote!(match #slot { __sp::Some(v) => #value, __sp::None => #expr })
        }
        None if checked => from_stored(f, quote!(__sp::required(#slot, #name)?), true),
        None => from_stored(f, quote!(#slot?), false),
    }
}

/// `Self { member: value, .. }` for a struct's fields.
fn struct_init(fields: &[Field], value: &dyn Fn(&Field) -> TokenStream) -> TokenStream {
    let inits = fields.iter().map(|f| {
        let member = &f.member;
        let v = value(f);
        quote!(#member: #v)
    });
    quote!(Self { #(#inits),* })
}

/// Reads the fields from `nv` into slots, then builds `constructor`.
fn decode_fields(
    fields: &[Field],
    constructor: impl Fn(&dyn Fn(&Field) -> TokenStream) -> TokenStream,
) -> TokenStream {
    let slots = declare_slots(fields);
    let arms = stored(fields).map(|f| {
        let slot = binding(f);
        let name = &f.name;
        let bytes = LitByteStr::new(name.as_bytes(), Span::call_site());
        quote!(#bytes => __sp::set(&mut #slot, value, #name)?,)
    });
    let value = |f: &Field| field_value(f, true);
    let build = constructor(&value);
    quote! {
        #slots
        for (name, value) in nv.iter() {
            match name.as_bytes() {
                #(#arms)*
                name if __sp::is_meta(name) => {}
                name => return __sp::Err(__sp::unknown(name)),
            }
        }
        __sp::Ok(#build)
    }
}

fn decode_struct(fields: &[Field]) -> TokenStream {
    decode_fields(fields, |value| struct_init(fields, value))
}

fn decode_enum(variants: &[Variant]) -> TokenStream {
    let arms = variants.iter().map(|v| {
        let name = v.ident.to_string();
        let body = decode_fields(&v.fields, |value| {
            let pattern = pattern(v, value);
            quote!(Self::#pattern)
        });
        quote!(#name => { #body })
    });
    quote! {
        match __sp::variant(nv)? {
            #(#arms)*
            other => __sp::Err(__sp::unknown_variant(other)),
        }
    }
}

/// The fast path's field loop: reads the pairs of the open list into
/// slots, giving up (`None`) on anything the checked path would refuse or
/// that it reads differently, then builds `constructor`.
fn read_fields(
    fields: &[Field],
    constructor: impl Fn(&dyn Fn(&Field) -> TokenStream) -> TokenStream,
) -> TokenStream {
    let slots = declare_slots(fields);
    let arms = stored(fields).map(|f| {
        let slot = binding(f);
        let bytes = LitByteStr::new(f.name.as_bytes(), Span::call_site());
        quote! {
            #bytes => {
                if #slot.is_some() {
                    return __sp::None;
                }
                #slot = __sp::Some(__sp::Field::read(r, &p)?);
            }
        }
    });
    let value = |f: &Field| field_value(f, false);
    let build = constructor(&value);
    quote! {
        #slots
        let mut min_reader_seen = false;
        loop {
            match r.item()? {
                __sp::Item::Close => break,
                __sp::Item::Pair(p) => match p.name {
                    #(#arms)*
                    b".min_reader" => {
                        __sp::read_min_reader(r, &p, &mut min_reader_seen, Self::VERSION)?
                    }
                    _ => return __sp::None,
                },
            }
        }
        __sp::Some(#build)
    }
}

fn read_struct(fields: &[Field]) -> TokenStream {
    let body = read_fields(fields, |value| struct_init(fields, value));
    quote! {
        __sp::read_meta(r, Self::NAME, Self::VERSION)?;
        #body
    }
}

fn read_enum(variants: &[Variant]) -> TokenStream {
    let arms = variants.iter().map(|v| {
        let name = LitByteStr::new(v.ident.to_string().as_bytes(), Span::call_site());
        let body = read_fields(&v.fields, |value| {
            let pattern = pattern(v, value);
            quote!(Self::#pattern)
        });
        quote!(#name => { #body })
    });
    quote! {
        __sp::read_meta(r, Self::NAME, Self::VERSION)?;
        match __sp::read_variant(r)? {
            #(#arms)*
            _ => __sp::None,
        }
    }
}

/// A type or path as source text, without the token spacing of
/// `to_string` (`Vec<u8>`, not `Vec < u8 >`).
fn type_name<T: ToTokens>(ty: &T) -> String {
    let s = ty.to_token_stream().to_string();
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ' ' {
            let prev = out.chars().last();
            let next = chars.peek().copied();
            let glue =
                |c: Option<char>| matches!(c, Some('<' | '>' | ':' | '[' | ']' | '(' | ')' | '&'));
            if glue(prev) && prev != Some(';')
                || glue(next)
                || next == Some(',')
                || next == Some(';')
            {
                continue;
            }
        }
        out.push(c);
    }
    out
}
