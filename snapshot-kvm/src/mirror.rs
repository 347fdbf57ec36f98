//! How a record mirrors a kvm-bindings structure: field by field, under
//! the same names, padding and reserved fields left out (zero on
//! restore).

/// A value converted to and from its kvm-bindings counterpart `K`.
pub(crate) trait Mirror<K> {
    fn of(k: &K) -> Self;
    fn to(&self) -> K;
}

macro_rules! plain {
    ($($t:ty),*) => {$(
        /// An integer is itself.
        impl Mirror<$t> for $t {
            fn of(k: &$t) -> $t {
                *k
            }
            fn to(&self) -> $t {
                *self
            }
        }
    )*};
}

plain!(u8, u16, u32, u64, i8, i64);

/// An array mirrors an array, element by element.
impl<R: Mirror<K>, K, const N: usize> Mirror<[K; N]> for [R; N] {
    fn of(k: &[K; N]) -> [R; N] {
        std::array::from_fn(|i| R::of(&k[i]))
    }
    fn to(&self) -> [K; N] {
        std::array::from_fn(|i| self[i].to())
    }
}

/// A kvm-bindings structure whose bytes follow a pattern (1, 8, 15, ...),
/// so that each field of its mirror holds a distinct non-zero value.
pub(crate) fn pattern<K: Default>() -> K {
    let mut k = K::default();
    // SAFETY: kvm-bindings structures are plain data of integers, arrays
    // and unions of them: every byte pattern is a valid value.
    let bytes = unsafe {
        std::slice::from_raw_parts_mut(&mut k as *mut K as *mut u8, std::mem::size_of::<K>())
    };
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i * 7 + 1) as u8;
    }
    k
}

/// A record mirroring the kvm-bindings structure `$kvm`, its schema named
/// `$schema`, its conversion module `with::$module`.
macro_rules! mirror {
    (
        $(#[$meta:meta])*
        $name:ident = $kvm:ty, $schema:literal, $module:ident {
            $($(#[$fmeta:meta])* $field:ident: $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(snapshot_core::Snapshot, Debug, Clone, PartialEq)]
        #[snapshot(name = $schema)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty),*
        }

        impl $crate::mirror::Mirror<$kvm> for $name {
            fn of(k: &$kvm) -> $name {
                $name { $($field: $crate::mirror::Mirror::of(&k.$field)),* }
            }
            fn to(&self) -> $kvm {
                // Padding and reserved fields are zero.
                let mut k = <$kvm as Default>::default();
                $(k.$field = $crate::mirror::Mirror::to(&self.$field);)*
                k
            }
        }

        /// The mirror of the structure filled with a byte pattern: every
        /// field non-zero and distinct, for the golden fixture.
        impl snapshot_core::compat::Sample for $name {
            fn sample() -> $name {
                $crate::mirror::Mirror::of(&$crate::mirror::pattern::<$kvm>())
            }
        }

        impl From<&$kvm> for $name {
            fn from(k: &$kvm) -> $name {
                $crate::mirror::Mirror::of(k)
            }
        }

        impl From<&$name> for $kvm {
            fn from(s: &$name) -> $kvm {
                $crate::mirror::Mirror::to(s)
            }
        }

        /// Conversion of the kvm-bindings structure for
        /// `#[snapshot(with = ..., stored = ...)]`.
        pub mod $module {
            #[allow(unused_imports)]
            use super::*;

            /// The record of `k`.
            pub fn to_stored(k: &$kvm) -> $name {
                $crate::mirror::Mirror::of(k)
            }

            /// The structure of a record: every record converts.
            pub fn from_stored(s: $name) -> Result<$kvm, std::convert::Infallible> {
                Ok($crate::mirror::Mirror::to(&s))
            }
        }
    };
}

pub(crate) use mirror;
