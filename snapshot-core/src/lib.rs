#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod compat;
pub mod error;
pub mod migrate;
pub mod model;
pub mod record;
pub mod schema;
pub mod serde;

#[doc(hidden)]
pub mod __private;

pub use error::{Error, ErrorKind, MigrationError, Result, SchemaError};
pub use model::{Field, MapKey};
pub use record::Snapshot;
pub use schema::Schema;
#[doc(inline)]
pub use snapshot_derive::compat_tests;
#[doc(inline)]
pub use snapshot_derive::Snapshot;
pub use snapshot_image as image;
pub use snapshot_nvlist as nvlist;
pub use snapshot_nvlist::text;
pub use snapshot_nvlist::{Flags, NvList, NvString, Type, Value};
