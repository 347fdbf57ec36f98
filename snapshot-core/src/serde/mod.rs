//! The serde bridge: values of types that implement `Serialize` and
//! `Deserialize` stored in the nvlist data model, in the representation
//! the derive gives the same shape (docs/data-model.md, "The serde
//! bridge"). A struct is a record of version 1 with its fields by name, an
//! enum a record with its `.variant`, a `Vec<u8>` a `BINARY`, a map a list
//! named by its keys in key order, and so on; so a type can move from
//! serde to `#[derive(Snapshot)]` without a change of format, and a VMM
//! whose state is serde-derived can take the framework one type at a
//! time, through these functions for whole values or
//! `#[snapshot(serde)]` for one field.
//!
//! What serde does not say is decided as follows, and documented there: a
//! tuple whose elements are all of one kind is stored as an array (serde
//! writes `[T; N]` and tuples alike), and a `HashSet` keeps the order it
//! iterates in (serde gives a sequence, not a set).
//!
//! ```
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, PartialEq, Debug)]
//! struct Nic {
//!     mac: [u8; 6],
//!     mtu: u16,
//! }
//!
//! let nic = Nic { mac: [2, 0, 0, 0, 0, 1], mtu: 1500 };
//! let list = snapshot_core::serde::to_nvlist(&nic)?;
//! assert_eq!(list.get_string(".schema")?, "Nic");
//! assert_eq!(list.get_number("mtu")?, 1500);
//! let back: Nic = snapshot_core::serde::from_nvlist(&list)?;
//! assert_eq!(back, nic);
//! # Ok::<(), snapshot_core::Error>(())
//! ```

mod de;
mod node;
mod ser;

use ::serde::{Deserialize, Serialize};

use crate::error::{Error, Result, ValueFault};
use crate::nvlist::{NvList, Value};

/// The stored value of `value`. Fails only where `value`'s `Serialize`
/// impl reports an error, or gives a map the same key twice.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value> {
    ser::to_node(value)?.lower()
}

/// `value` read as a `T`, with the checks the derive makes for the same
/// shape; the error names the path of the value that does not fit.
pub fn from_value<'de, T: Deserialize<'de>>(value: &'de Value) -> Result<T> {
    T::deserialize(de::Deserializer::value(value))
}

/// The stored list of `value`: a struct or an enum (a record), or a map
/// (an empty one is an empty list). Other shapes are not lists, and are
/// refused.
pub fn to_nvlist<T: Serialize + ?Sized>(value: &T) -> Result<NvList> {
    let node = ser::to_node(value)?;
    let map = matches!(node, node::Node::Map(_));
    match node.lower()? {
        Value::NvList(list) => Ok(list),
        Value::Null if map => Ok(NvList::new()),
        other => Err(Error::value(ValueFault::WrongType {
            expected: "nvlist (a struct, an enum or a map)",
            found: other.ty(),
        })),
    }
}

/// `list` read as a `T`: the inverse of [`to_nvlist`].
pub fn from_nvlist<'de, T: Deserialize<'de>>(list: &'de NvList) -> Result<T> {
    T::deserialize(de::Deserializer::list(list))
}
