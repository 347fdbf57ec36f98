//! Unpacking into the tree: a [`Visit`] of the checking walk (`scan.rs`)
//! that builds an [`NvList`]. Every rule is the walk's; this module only
//! allocates.
//!
//! The pairs of all open lists share one stack, so that a list's pair
//! vector is allocated once, at its exact size, when the list closes.

use crate::copy;
use crate::error::Result;
use crate::scan::{self, DecodeOptions, Leaf, Name, Visit};
use crate::value::{Flags, NvList, NvString, Value};

/// Unpacks a buffer holding exactly one packed nvlist.
pub fn unpack(input: &[u8], options: &DecodeOptions) -> Result<NvList> {
    let mut tree = Tree {
        pairs: Vec::new(),
        big_endian: false,
    };
    let flags = scan::scan(input, options, &mut tree)?;
    Ok(tree.list(flags, 0))
}

/// The tree being built.
struct Tree {
    /// The pairs of every open list, innermost list's last.
    pairs: Vec<(NvString, Value)>,
    big_endian: bool,
}

/// An open list: where its pairs start on the shared stack, and the pair
/// it becomes (or joins, for an array element) when it closes.
struct Open {
    flags: Flags,
    pairs_start: usize,
    name: NvString,
    /// The elements closed so far, for an array element.
    done: Vec<NvList>,
}

impl Tree {
    /// Moves the pairs of the innermost list off the shared stack.
    fn list(&mut self, flags: Flags, pairs_start: usize) -> NvList {
        NvList::from_parts(flags, self.pairs.drain(pairs_start..).collect())
    }

    fn open(&self, name: Name<'_>, flags: Flags, done: Vec<NvList>) -> Open {
        Open {
            flags,
            pairs_start: self.pairs.len(),
            name: NvString::from_window(name.window, name.bytes.len()),
            done,
        }
    }

    fn value(&self, leaf: Leaf<'_>) -> Value {
        match leaf {
            Leaf::Null => Value::Null,
            Leaf::Bool(b) => Value::Bool(b),
            Leaf::Number(n) => Value::Number(n),
            Leaf::String(s) => Value::String(NvString::from(s)),
            Leaf::Binary(b) => Value::Binary(copy::to_vec(b)),
            Leaf::BoolArray(a) => Value::BoolArray(a.iter().map(|&b| b == 1).collect()),
            Leaf::NumberArray(a) => {
                let be = self.big_endian;
                let numbers = a.chunks_exact(8).map(|c| {
                    let mut word = [0u8; 8];
                    word.copy_from_slice(c);
                    if be {
                        u64::from_be_bytes(word)
                    } else {
                        u64::from_le_bytes(word)
                    }
                });
                Value::NumberArray(numbers.collect())
            }
            Leaf::StringArray(a) => {
                // Every string ends with a NUL: split the bytes before the
                // last one.
                let body = a.strip_suffix(&[0]).unwrap_or(a);
                Value::StringArray(body.split(|&b| b == 0).map(NvString::from).collect())
            }
        }
    }
}

impl<'a> Visit<'a> for Tree {
    type Open = Open;

    fn root(&mut self, _flags: Flags, big_endian: bool) {
        self.big_endian = big_endian;
    }

    #[inline(always)]
    fn leaf(&mut self, name: Name<'a>, value: Leaf<'a>) {
        let name = NvString::from_window(name.window, name.bytes.len());
        let value = self.value(value);
        self.pairs.push((name, value));
    }

    fn begin_list(&mut self, name: Name<'a>, flags: Flags) -> Open {
        self.open(name, flags, Vec::new())
    }

    fn end_list(&mut self, open: Open) {
        let list = self.list(open.flags, open.pairs_start);
        self.pairs.push((open.name, Value::NvList(list)));
    }

    fn begin_array(&mut self, name: Name<'a>, len: usize, flags: Flags) -> Open {
        self.open(name, flags, Vec::with_capacity(len.min(64)))
    }

    fn next_element(&mut self, open: &mut Open, flags: Flags) {
        let list = self.list(open.flags, open.pairs_start);
        open.done.push(list);
        open.flags = flags;
    }

    fn end_array(&mut self, mut open: Open) {
        let list = self.list(open.flags, open.pairs_start);
        open.done.push(list);
        self.pairs.push((open.name, Value::NvListArray(open.done)));
    }
}
