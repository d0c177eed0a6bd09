//! The one integration test binary: black-box tests of the `kyuubi-reaper` executable.
//!
//! Each module covers one area; [`harness`] runs the binary and checks exit codes and output.

mod cli;
mod harness;
mod sample;
mod stores;
mod world;
