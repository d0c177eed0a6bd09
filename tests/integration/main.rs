//! The one integration test binary: black-box tests of the `kyuubi-reaper` executable.
//!
//! Each module covers one area; [`harness`] runs the binary and checks exit codes and output.

mod cli;
mod cluster;
mod harness;
mod hostile_output;
mod manifests;
mod reap;
mod sample;
mod scan_cluster;
mod scan_zk;
mod state_checks;
mod store_damage;
mod store_servers;
mod stores;
mod watch;
mod world;
mod zk_damage;
mod zk_ensemble;
mod zk_fixtures;
mod zk_live;
mod zk_tools;
