//! The running init: the loop and its one wait (`supervisor`), what a
//! received signal means (`policy`), the stop's state machine (`shutdown`),
//! its effects carried out (`edge`), whom a stop reaches and what it sent
//! them (`scope`), and the one way to kill and name processes (`kill`).

pub mod edge;
pub mod kill;
pub mod policy;
pub mod scope;
pub mod shutdown;
pub mod supervisor;
