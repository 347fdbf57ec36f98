#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod error;
pub mod image;
pub mod nvlist;
pub mod text;

pub use error::{Error, ErrorKind, Result};
pub use nvlist::{Flags, NvList, NvString, Type, Value};
