//! Schemas: what a record type stores, and how it got there.
//!
//! [`Snapshot::schema`](crate::Snapshot::schema) returns one, built by the
//! derive from the type and its attributes. The migration engine reads the
//! history in it (since-versions, former names, removed fields,
//! migrations); tools can print or compare it.

pub mod diff;
pub mod text;

pub use diff::{diff, Change, ChangeKind, Compat};
pub use text::Recorded;

use crate::error::MigrationError;
use crate::nvlist::{NvList, Value};

/// The schema of a record type at its current version.
#[derive(Clone, Debug)]
pub struct Schema {
    /// The stored schema name (`#[snapshot(name = "...")]`).
    pub name: &'static str,
    /// The current version (`#[snapshot(version = N)]`).
    pub version: u32,
    /// The fields or variants.
    pub body: Body,
    /// Fields removed in the history, no longer in the type.
    pub removed: Vec<Removed>,
    /// Declared migrations, by ascending `from`.
    pub migrations: Vec<Migration>,
}

/// The stored shape of a struct or an enum.
#[derive(Clone, Debug)]
pub enum Body {
    /// A struct's fields, in declaration order (tuple fields are named
    /// `0`, `1`, ...).
    Struct(Vec<FieldSchema>),
    /// An enum's variants.
    Enum(Vec<Variant>),
}

/// One variant of an enum.
#[derive(Clone, Debug)]
pub struct Variant {
    /// The variant's name, which identifies it when stored.
    pub name: &'static str,
    /// The version that added the variant (1 for an original one): a
    /// record holding it cannot be written for an older reader.
    pub since: u32,
    /// Its fields (none for a unit variant).
    pub fields: Vec<FieldSchema>,
}

/// One stored field.
#[derive(Clone, Debug)]
pub struct FieldSchema {
    /// The current stored name.
    pub name: &'static str,
    /// The Rust type, as written in the source.
    pub ty: &'static str,
    /// The field's doc comment, lines joined by spaces; empty without one.
    pub doc: &'static str,
    /// The version that added the field (1 for an original field).
    pub since: u32,
    /// The value used when the field is not stored, for added fields.
    pub default: Option<DefaultValue>,
    /// Names the field was stored under before, oldest first.
    pub former_names: Vec<FormerName>,
    /// The narrower type the field had before a widening.
    pub widened: Option<Widened>,
}

/// A widening of a field's type (`u16` to `u32`): older records read with
/// no help, and a record written for an older reader must hold a value
/// that fits the older type.
#[derive(Clone, Debug)]
pub struct Widened {
    /// The older type, as written in the source.
    pub from: &'static str,
    /// The first version with the wider type.
    pub widened_in: u32,
    /// Whether a stored value fits the older type; the error says why not.
    pub fits: FitsFn,
}

/// The default of an added field.
#[derive(Clone, Debug)]
pub struct DefaultValue {
    /// Where it comes from: `Default::default()` or the path of a function.
    pub source: &'static str,
    /// The default, as stored: a downgrade drops the field only when it
    /// holds exactly this value.
    pub value: fn() -> Value,
}

/// A name a field had before a rename.
#[derive(Clone, Debug)]
pub struct FormerName {
    /// The former stored name.
    pub name: &'static str,
    /// The version whose records use the next name.
    pub renamed_in: u32,
}

/// A field removed from the type.
#[derive(Clone, Debug)]
pub struct Removed {
    /// Its stored name.
    pub name: &'static str,
    /// The first version without it.
    pub since: u32,
}

/// A migration function: edits a record's nvlist in place.
pub type MigrateFn = fn(&mut NvList) -> Result<(), MigrationError>;

/// A declared migration between version `from` and `from + 1`.
#[derive(Clone, Debug)]
pub struct Migration {
    /// The older version of the step.
    pub from: u32,
    /// Turns a record of version `from` into version `from + 1`, before the
    /// engine applies the step's renames and removals.
    pub up: MigrateFn,
    /// Turns a record of version `from + 1` back, after the engine has
    /// undone the step's renames; without it the step cannot be
    /// downgraded.
    pub down: Option<MigrateFn>,
    /// What the step changes that the engine cannot: fields it retypes
    /// and variants it reshapes or drops. The checker accepts such a
    /// change only when a migration names it, and a record written for
    /// the older reader is checked against the older field types after
    /// `down` ran.
    pub converts: Vec<Converts>,
}

/// A field retyped, or a variant reshaped or removed, by a migration
/// (`converts(timeout_ms: u32, Burst)`).
#[derive(Clone, Debug)]
pub struct Converts {
    /// The field's stored name before the step, or the variant's name.
    pub name: &'static str,
    /// For a field: its type before the step.
    pub from: Option<OlderType>,
}

/// A field's type before a step: its name, and a check that a stored
/// value reads as that type.
#[derive(Clone, Debug)]
pub struct OlderType {
    /// The type, as written in the source.
    pub ty: &'static str,
    /// Whether a stored value reads as `ty`; the error says why not.
    pub fits: FitsFn,
}

/// Whether a stored value reads as a given type: `Field::from_value` of it.
pub type FitsFn = fn(&Value) -> crate::Result<()>;

impl Schema {
    /// The fields of a struct; none for an enum, whose variant fields have
    /// no history of their own.
    pub fn fields(&self) -> &[FieldSchema] {
        match &self.body {
            Body::Struct(fields) => fields,
            Body::Enum(_) => &[],
        }
    }

    /// The migration of the step `from` -> `from + 1`, if one is declared.
    pub fn migration(&self, from: u32) -> Option<&Migration> {
        self.migrations.iter().find(|m| m.from == from)
    }

    /// The variants of an enum; none for a struct.
    pub fn variants(&self) -> &[Variant] {
        match &self.body {
            Body::Enum(variants) => variants,
            Body::Struct(_) => &[],
        }
    }
}

impl FieldSchema {
    /// The name the field is stored under in records of `version`.
    pub fn name_at(&self, version: u32) -> &'static str {
        self.former_names
            .iter()
            .find(|f| f.renamed_in > version)
            .map_or(self.name, |f| f.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_at_follows_renames() {
        let field = FieldSchema {
            name: "c",
            ty: "u32",
            doc: "",
            since: 1,
            default: None,
            former_names: vec![
                FormerName {
                    name: "a",
                    renamed_in: 2,
                },
                FormerName {
                    name: "b",
                    renamed_in: 4,
                },
            ],
            widened: None,
        };
        let names: Vec<_> = (1..=5).map(|v| field.name_at(v)).collect();
        assert_eq!(names, ["a", "b", "b", "c", "c"]);
    }
}
