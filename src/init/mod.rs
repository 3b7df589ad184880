//! The running init: its set-up, resolved once before anything starts
//! (`setup`), brought up and run (`launch`); the loop and its one wait
//! (`supervisor`), what a received signal means (`policy`), the stop's
//! state machine (`shutdown`), its effects carried out (`edge`), whom a
//! stop reaches and what it sent them (`scope`), and the one way to kill
//! and name processes (`kill`); the stop order of issue 20 (`order`), not
//! yet wired into the stop.

pub mod edge;
pub mod kill;
pub mod launch;
pub mod order;
pub mod policy;
pub mod scope;
pub mod setup;
pub mod shutdown;
pub mod supervisor;

pub use launch::launch;
pub use setup::Setup;

/// Exit code when grace itself fails after starting (a broken kernel
/// interface, a --user that does not exist), distinct from any code the
/// command could produce through us.
pub const EXIT_INTERNAL: i32 = 125;
