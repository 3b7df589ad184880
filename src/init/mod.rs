//! The running init: the loop and its one wait (`supervisor`), what a
//! received signal means (`policy`), the stop's state machine (`shutdown`),
//! its effects carried out (`edge`), and whom a stop reaches (`scope`).

pub mod edge;
pub mod order;
pub mod policy;
pub mod scope;
pub mod shutdown;
pub mod supervisor;
