//! Never in the binary: the property tests over the parsers (`properties`,
//! under `cargo test`) and the fuzz targets' way in (`fuzz`, under
//! `--cfg fuzzing`, see fuzz/README.md).

#[cfg(fuzzing)]
pub mod fuzz;
#[cfg(test)]
mod properties;
