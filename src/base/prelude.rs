//! What std's prelude would bring, from `alloc`; every module imports it.

pub use alloc::borrow::ToOwned;
pub use alloc::boxed::Box;
pub use alloc::collections::{BTreeMap, BTreeSet};
pub use alloc::format;
pub use alloc::string::{String, ToString};
pub use alloc::vec;
pub use alloc::vec::Vec;
