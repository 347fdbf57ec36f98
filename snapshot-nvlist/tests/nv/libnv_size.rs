//! The datasize of an NVLIST pair is what libnv's `nvlist_size()` returns
//! for the child, and that function walks past the child into its parents.
//! The encoder computes it in closed form (see `encode.rs`); this test
//! checks that form against a line-by-line transcription of libnv's walk
//! (`sys/contrib/libnv/nvlist.c`), on arbitrary trees with nested lists
//! inside arrays, which the libnv vectors do not cover.

use proptest::collection::vec;
use proptest::prelude::*;
use snapshot_nvlist::{NvList, Value};

/// libnv's in-memory tree: lists with parent and array-next links.
struct Tree {
    lists: Vec<List>,
}

struct List {
    pairs: Vec<Pair>,
    /// The list and pair index holding this list, as `nvl_parent`.
    parent: Option<(usize, usize)>,
    /// The next element of the same array, as `nvl_array_next`.
    next: Option<usize>,
    in_array: bool,
}

struct Pair {
    name_len: usize,
    kind: Kind,
}

enum Kind {
    Data(usize),
    List(usize),
    Array(Vec<usize>),
}

fn data_size(v: &Value) -> usize {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 8,
        Value::String(s) => s.as_bytes().len() + 1,
        Value::Binary(b) => b.len(),
        Value::BoolArray(a) => a.len(),
        Value::NumberArray(a) => 8 * a.len(),
        Value::StringArray(a) => a.iter().map(|s| s.as_bytes().len() + 1).sum(),
        Value::NvList(_) | Value::NvListArray(_) => unreachable!(),
    }
}

impl Tree {
    fn add(&mut self, nv: &NvList, parent: Option<(usize, usize)>, in_array: bool) -> usize {
        let id = self.lists.len();
        self.lists.push(List {
            pairs: Vec::new(),
            parent,
            next: None,
            in_array,
        });
        for (i, (name, value)) in nv.iter().enumerate() {
            let kind = match value {
                Value::NvList(child) => Kind::List(self.add(child, Some((id, i)), false)),
                Value::NvListArray(items) => {
                    let ids: Vec<usize> = items
                        .iter()
                        .map(|c| self.add(c, Some((id, i)), true))
                        .collect();
                    for w in ids.windows(2) {
                        self.lists[w[0]].next = Some(w[1]);
                    }
                    Kind::Array(ids)
                }
                v => Kind::Data(data_size(v)),
            };
            self.lists[id].pairs.push(Pair {
                name_len: name.as_bytes().len(),
                kind,
            });
        }
        id
    }

    fn first(&self, l: usize) -> Option<usize> {
        (!self.lists[l].pairs.is_empty()).then_some(0)
    }

    fn next_pair(&self, l: usize, p: usize) -> Option<usize> {
        (p + 1 < self.lists[l].pairs.len()).then_some(p + 1)
    }

    /// `nvlist_get_pararr`: the next array element (cookie NULL), or the
    /// parent list with the pair that holds this one as cookie.
    fn pararr(&self, l: usize) -> (Option<usize>, Option<usize>) {
        if let Some(n) = self.lists[l].next {
            return (Some(n), None);
        }
        match self.lists[l].parent {
            Some((pl, pp)) => (Some(pl), Some(pp)),
            None => (None, None),
        }
    }

    /// `nvlist_size()`, transcribed.
    fn nvlist_size(&self, start: usize) -> usize {
        let mut size = 19;
        let mut nvl = start;
        let mut nvp = self.first(nvl);
        'outer: while let Some(p) = nvp {
            let pair = &self.lists[nvl].pairs[p];
            size += 19 + pair.name_len + 1;
            match &pair.kind {
                Kind::List(child) => {
                    size += 19 + 19 + 1;
                    if let Some(f) = self.first(*child) {
                        nvl = *child;
                        nvp = Some(f);
                        continue;
                    }
                }
                Kind::Array(items) => {
                    size += (19 + 1) * items.len() + 19 * items.len();
                    if let Some(&e) = items.iter().find(|&&e| self.first(e).is_some()) {
                        nvl = e;
                        nvp = Some(0);
                        continue;
                    }
                }
                Kind::Data(d) => size += d,
            }
            let mut cur = p;
            loop {
                if let Some(n) = self.next_pair(nvl, cur) {
                    nvp = Some(n);
                    continue 'outer;
                }
                let mut cookie;
                let mut found;
                loop {
                    let (up, c) = self.pararr(nvl);
                    cookie = c;
                    let Some(up) = up else { break 'outer };
                    nvl = up;
                    found = if self.lists[nvl].in_array && cookie.is_none() {
                        self.first(nvl)
                    } else {
                        cookie
                    };
                    if found.is_some() {
                        break;
                    }
                }
                if self.lists[nvl].in_array && cookie.is_none() {
                    nvp = found;
                    continue 'outer;
                }
                cur = found.expect("set above");
            }
        }
        size
    }

    /// The datasize libnv writes for every NVLIST pair, in buffer order.
    fn nvlist_datasizes(&self, l: usize, out: &mut Vec<u64>) {
        for pair in &self.lists[l].pairs {
            match &pair.kind {
                Kind::List(child) => {
                    out.push(self.nvlist_size(*child) as u64);
                    self.nvlist_datasizes(*child, out);
                }
                Kind::Array(items) => items.iter().for_each(|&e| self.nvlist_datasizes(e, out)),
                Kind::Data(_) => {}
            }
        }
    }
}

/// The datasize fields of the NVLIST pairs of a packed buffer, in order.
fn packed_datasizes(buf: &[u8]) -> Vec<u64> {
    let u64_at = |at: usize| u64::from_le_bytes(buf[at..at + 8].try_into().unwrap());
    let mut out = Vec::new();
    let mut pos = 19;
    while pos < buf.len() {
        let ty = buf[pos];
        let namesize = u16::from_le_bytes([buf[pos + 1], buf[pos + 2]]) as usize;
        let datasize = u64_at(pos + 3) as usize;
        pos += 19 + namesize;
        match ty {
            5 => {
                out.push(datasize as u64);
                pos += 19;
            }
            // An array's first element header, or the next element's.
            11 => pos += 19,
            254 if buf.get(pos) == Some(&0x6c) => pos += 19,
            254 | 255 => {}
            _ => pos += datasize,
        }
    }
    out
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u64>().prop_map(Value::Number),
        "[a-z]{0,5}".prop_map(|s| Value::String(s.into())),
        Just(Value::Null),
    ]
}

fn list_of(value: BoxedStrategy<Value>) -> BoxedStrategy<NvList> {
    vec(value, 0..4)
        .prop_map(|values| {
            let mut nv = NvList::new();
            for (i, v) in values.into_iter().enumerate() {
                nv.insert(format!("p{i}"), v);
            }
            nv
        })
        .boxed()
}

fn tree() -> impl Strategy<Value = NvList> {
    list_of(leaf().boxed()).prop_recursive(5, 48, 4, |inner| {
        list_of(
            prop_oneof![
                2 => leaf(),
                2 => inner.clone().prop_map(Value::NvList),
                2 => vec(inner, 1..4).prop_map(Value::NvListArray),
            ]
            .boxed(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn nvlist_datasize_matches_libnv_walk(nv in tree()) {
        let mut model = Tree { lists: Vec::new() };
        let root = model.add(&nv, None, false);
        prop_assert_eq!(model.nvlist_size(root), nv.packed_size());
        let mut expected = Vec::new();
        model.nvlist_datasizes(root, &mut expected);
        prop_assert_eq!(packed_datasizes(&nv.pack()), expected);
    }
}
