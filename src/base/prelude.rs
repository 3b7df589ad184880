//! What std's prelude would bring, from `alloc`; every module imports it.

pub use alloc::borrow::ToOwned;
pub use alloc::boxed::Box;
// Only the tests have B-trees: in the binary each key and value type is
// kilobytes of code, and a sorted Vec does the same work.
#[cfg(test)]
pub use alloc::collections::{BTreeMap, BTreeSet};
pub use alloc::format;
pub use alloc::string::{String, ToString};
pub use alloc::vec;
pub use alloc::vec::Vec;
