#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod compat;
pub mod error;
pub mod image;
pub mod migrate;
pub mod model;
pub mod nvlist;
pub mod record;
pub mod schema;
pub mod text;

#[doc(hidden)]
pub mod __private;

pub use error::{Error, ErrorKind, MigrationError, Result, SchemaError};
pub use model::Field;
pub use nvlist::{Flags, NvList, NvString, Type, Value};
pub use record::Snapshot;
pub use schema::Schema;
#[doc(inline)]
pub use snapshot_derive::compat_tests;
#[doc(inline)]
pub use snapshot_derive::Snapshot;
