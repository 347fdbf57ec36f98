//! Checks across attributes. Each rule keeps a record type's history
//! decodable; a violation points at the attribute that breaks it.

use std::collections::HashMap;

use quote::ToTokens;

use crate::ast::{Body, Container, Field};
use crate::attr;
use crate::ctxt::Ctxt;

pub fn check(cx: &Ctxt, cont: &Container) {
    check_migrations(cx, cont);
    check_removed(cx, cont);
    match &cont.body {
        Body::Struct(fields) => {
            for field in fields {
                check_field(cx, cont, field);
                check_conversion(cx, field);
            }
            check_stored_names(cx, cont, fields);
        }
        Body::Enum(variants) => {
            for field in variants.iter().flat_map(|v| &v.fields) {
                check_variant_field(cx, field);
                check_conversion(cx, field);
            }
            for v in variants {
                if let Some(since) = v.attrs.since.get() {
                    if since.value < 2 || since.value > cont.version() {
                        cx.error_spanned_by(
                            since,
                            format!(
                                "`since = {}` is outside the history: variants are added in 2..={}",
                                since.value,
                                cont.version()
                            ),
                        );
                    }
                }
            }
        }
    }
    check_converts(cx, cont);
}

/// `converts(...)` names what the step changes: in a struct, a field by
/// its name before the step with its type then; in an enum, a variant
/// alone.
fn check_converts(cx: &Ctxt, cont: &Container) {
    for m in &cont.attrs.migrations {
        let from = m.from.value;
        for c in &m.converts {
            match (&cont.body, &c.ty) {
                (Body::Struct(fields), Some(_)) => {
                    let known = fields.iter().any(|f| {
                        f.attrs.skip.get().is_none()
                            && f.attrs.since.get().map_or(1, |v| v.value) <= from
                            && name_at(f, from) == c.name
                    });
                    if !known {
                        cx.error_spanned_by(
                            &c.span,
                            format!(
                                "`{}` is not a stored field of version {from}: `converts` names a \
                                 field by its stored name before the step",
                                c.name
                            ),
                        );
                    }
                }
                (Body::Struct(_), None) => cx.error_spanned_by(
                    &c.span,
                    format!(
                        "a retyped field is named with its type before the step: `{}: OldType`",
                        c.name
                    ),
                ),
                (Body::Enum(_), Some(ty)) => cx.error_spanned_by(
                    ty,
                    "an enum's `converts` names variants alone, without a type",
                ),
                (Body::Enum(_), None) => {}
            }
        }
    }
}

/// The stored name of `field` in records of `version`, as
/// `FieldSchema::name_at` says.
fn name_at(field: &Field, version: u32) -> String {
    match (field.attrs.rename_from.get(), field.attrs.renamed_in.get()) {
        (Some(lit), Some(v)) if v.value > version => lit.value(),
        _ => field.name.clone(),
    }
}

/// A migration is a step `from -> from + 1` inside the history, and each
/// step has at most one, or the engine could not tell which to run.
fn check_migrations(cx: &Ctxt, cont: &Container) {
    let version = cont.version();
    let mut seen = HashMap::new();
    for m in &cont.attrs.migrations {
        let from = m.from.value;
        if from >= version {
            let allowed = if version == 1 {
                "a type at version 1 has no step to migrate".to_owned()
            } else {
                format!("`from` must be in 1..={}", version - 1)
            };
            cx.error_spanned_by(
                &m.from,
                format!(
                    "migration from version {from} (to {}) is outside the history: {allowed}",
                    u64::from(from) + 1
                ),
            );
        }
        if seen.insert(from, ()).is_some() {
            cx.error_spanned_by(
                &m.from,
                format!("a migration from version {from} is already declared"),
            );
        }
    }
}

/// A removed field is gone in `since`, which must be a version of the
/// history after the first; and it must really be gone from the type.
fn check_removed(cx: &Ctxt, cont: &Container) {
    let version = cont.version();
    for r in &cont.attrs.removed {
        if matches!(cont.body, Body::Enum(_)) {
            cx.error_spanned_by(&r.field, "`removed` applies to structs only");
        }
        check_stored_name(cx, &r.field);
        let since = r.since.value;
        if since < 2 || since > version {
            cx.error_spanned_by(
                &r.since,
                format!(
                    "`since = {since}` is outside the history: removals happen in 2..={version}"
                ),
            );
        }
    }
}

/// Names starting with a dot are the record's metadata pairs.
fn check_stored_name(cx: &Ctxt, lit: &syn::LitStr) {
    let name = lit.value();
    if name.is_empty() || name.starts_with('.') || name.contains('\0') {
        cx.error_spanned_by(
            lit,
            "a stored name is non-empty, has no NUL and does not start with `.` \
             (reserved for record metadata)",
        );
    }
}

fn check_field(cx: &Ctxt, cont: &Container, field: &Field) {
    let attrs = &field.attrs;
    let version = cont.version();
    // A skipped field is not stored, so it has no history.
    if let Some(tokens) = attrs.skip.tokens() {
        if attrs.has_history() {
            cx.error_spanned_by(tokens, "`skip` excludes every other snapshot attribute");
        }
        return;
    }
    let since = attrs.since.get().map_or(1, |v| v.value);
    if let Some(v) = attrs.since.get() {
        // A field cannot be added in a version that does not exist yet.
        if v.value > version {
            cx.error_spanned_by(
                v,
                format!(
                    "`since = {}` is greater than the current version {version}",
                    v.value
                ),
            );
        }
        // Records older than `since` lack the field: something must supply
        // it, a default or the migration into `since`.
        let migrated = cont
            .attrs
            .migrations
            .iter()
            .any(|m| m.from.value + 1 == v.value);
        if v.value > 1 && attrs.default.get().is_none() && !migrated {
            cx.error_spanned_by(
                v,
                format!(
                    "field added in version {} needs `default`, `default = path`, \
                     or a `migrate(from = {}, ...)` that fills it",
                    v.value,
                    v.value - 1
                ),
            );
        }
    } else if let Some(tokens) = attrs.default.tokens() {
        // An original field is always stored; a default would hide its
        // absence, which only corruption can cause.
        cx.error_spanned_by(tokens, "`default` applies to added fields: add `since = N`");
    }
    match (attrs.rename_from.get(), attrs.renamed_in.get()) {
        (Some(lit), Some(v)) => {
            check_stored_name(cx, lit);
            if v.value <= since || v.value > version {
                cx.error_spanned_by(
                    v,
                    format!(
                        "`renamed_in = {}` must be after the field's first version {since} \
                         and at most the current version {version}",
                        v.value
                    ),
                );
            }
        }
        (Some(lit), None) => cx.error_spanned_by(lit, "`rename_from` needs `renamed_in = N`"),
        (None, Some(v)) => cx.error_spanned_by(v, "`renamed_in` needs `rename_from = \"...\"`"),
        (None, None) => {}
    }
    // A widening happens in a version after the field exists.
    match (attrs.widened_from.get(), attrs.widened_in.get()) {
        (Some(_), Some(v)) if v.value <= since || v.value > version => cx.error_spanned_by(
            v,
            format!(
                "`widened_in = {}` must be after the field's first version {since} \
                 and at most the current version {version}",
                v.value
            ),
        ),
        (Some(ty), None) => cx.error_spanned_by(ty, "`widened_from` needs `widened_in = N`"),
        (None, Some(v)) => cx.error_spanned_by(v, "`widened_in` needs `widened_from = type`"),
        _ => {}
    }
}

/// Every stored name, current, former or removed, means one field: a
/// record holding it must decode one way only.
fn check_stored_names(cx: &Ctxt, cont: &Container, fields: &[Field]) {
    let mut names: HashMap<String, ()> = HashMap::new();
    let mut claim = |name: String, tokens: &dyn ToTokens, what: &str| {
        if names.insert(name.clone(), ()).is_some() {
            cx.error_spanned_by(
                tokens.to_token_stream(),
                format!("stored name `{name}` ({what}) is already used by another field"),
            );
        }
    };
    for field in fields.iter().filter(|f| f.attrs.skip.get().is_none()) {
        let tokens: &dyn ToTokens = match &field.original.ident {
            Some(ident) => ident,
            None => &field.original.ty,
        };
        claim(field.name.clone(), tokens, "current name");
    }
    for field in fields.iter().filter(|f| f.attrs.skip.get().is_none()) {
        if let Some(lit) = field.attrs.rename_from.get() {
            claim(lit.value(), lit, "former name");
        }
    }
    for r in &cont.attrs.removed {
        let present = fields.iter().any(|f| f.name == r.field.value());
        if present {
            cx.error_spanned_by(
                &r.field,
                format!(
                    "field `{}` is declared removed but the type still has it",
                    r.field.value()
                ),
            );
        } else {
            claim(r.field.value(), &r.field, "removed field");
        }
    }
}

/// Variant fields have no history of their own: the enum's migrations
/// carry it.
fn check_variant_field(cx: &Ctxt, field: &Field) {
    let attrs: &attr::Field = &field.attrs;
    let tokens = [
        attrs.since.tokens(),
        attrs.default.tokens(),
        attrs.rename_from.tokens(),
        attrs.renamed_in.tokens(),
        attrs.widened_from.tokens(),
        attrs.widened_in.tokens(),
    ];
    for t in tokens.into_iter().flatten() {
        cx.error_spanned_by(
            t,
            "fields of enum variants take only `skip`, `with` and `serde`: use a migration for \
             their history",
        );
    }
}

/// A stored field converts through at most one of `with = module, stored =
/// Type` and `serde`; a skipped one is not stored at all.
fn check_conversion(cx: &Ctxt, field: &Field) {
    let attrs = &field.attrs;
    let converted = attrs.with.get().is_some() || attrs.serde.get().is_some();
    if let (Some(tokens), true) = (attrs.skip.tokens(), converted) {
        cx.error_spanned_by(
            tokens,
            "a skipped field is not stored: it takes no `with` or `serde`",
        );
        return;
    }
    match (attrs.with.tokens(), attrs.stored.tokens()) {
        (Some(tokens), None) => cx.error_spanned_by(
            tokens,
            "`with` needs `stored = Type`: the model type the module's functions convert to, \
             which the schema records",
        ),
        (None, Some(tokens)) => cx.error_spanned_by(
            tokens,
            "`stored` names the type of a `with = module` conversion: add `with`",
        ),
        _ => {}
    }
    if let (Some(tokens), Some(_)) = (attrs.serde.tokens(), attrs.with.get()) {
        cx.error_spanned_by(
            tokens,
            "`serde` and `with` are two ways to store a field: keep one",
        );
    }
}
