//! Never in the binary: the property tests over the parsers (`properties`,
//! under `cargo test`), the measuring side of bench/order (`order_bench`,
//! an ignored test), the ordered stop's readers and order end to end in a
//! namespace (`order_namespace`), and the fuzz targets' way in (`fuzz`, under
//! `--cfg fuzzing`, see fuzz/README.md).

#[cfg(fuzzing)]
pub mod fuzz;
#[cfg(test)]
mod order_bench;
#[cfg(test)]
mod order_namespace;
#[cfg(test)]
mod properties;
