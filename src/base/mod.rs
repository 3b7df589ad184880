//! Building blocks every layer uses: signal numbers and sets, time and
//! durations, environment variables, the log and its non-blocking writer,
//! the JSON writer, and the prelude that stands in for std's.

pub mod environment;
pub mod json;
pub mod log;
pub mod prelude;
pub mod quoted;
pub mod signals;
pub mod sink;
pub mod time;
