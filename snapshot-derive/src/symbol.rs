//! The attribute keywords, as constants so a typo cannot slip into one
//! comparison.

use std::fmt;

use syn::Path;

/// An attribute keyword.
#[derive(Copy, Clone)]
pub struct Symbol(&'static str);

pub const SNAPSHOT: Symbol = Symbol("snapshot");
pub const NAME: Symbol = Symbol("name");
pub const VERSION: Symbol = Symbol("version");
pub const REMOVED: Symbol = Symbol("removed");
pub const FIELD: Symbol = Symbol("field");
pub const SINCE: Symbol = Symbol("since");
pub const MIGRATE: Symbol = Symbol("migrate");
pub const FROM: Symbol = Symbol("from");
pub const UP: Symbol = Symbol("up");
pub const DOWN: Symbol = Symbol("down");
pub const RENAME_FROM: Symbol = Symbol("rename_from");
pub const RENAMED_IN: Symbol = Symbol("renamed_in");
pub const DEFAULT: Symbol = Symbol("default");
pub const SKIP: Symbol = Symbol("skip");
pub const WIDENED_FROM: Symbol = Symbol("widened_from");
pub const WIDENED_IN: Symbol = Symbol("widened_in");
pub const CONVERTS: Symbol = Symbol("converts");
pub const WITH: Symbol = Symbol("with");
pub const STORED: Symbol = Symbol("stored");
pub const SERDE: Symbol = Symbol("serde");

impl PartialEq<Symbol> for Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl PartialEq<Symbol> for &Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}
