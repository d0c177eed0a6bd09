//! Fidelity tests: the test API server against the real `kubectl` (1.27 and 1.33), Debian's
//! Python `kubernetes` client, and kube-rs; plus protocol-level checks over raw HTTP.
//!
//! None of these skip: a missing `kubectl` or Python client fails with install instructions.

// Scenario tests read best as one long story each.
#![allow(clippy::too_many_lines, clippy::many_single_char_names)]

mod binary;
mod common;
mod http;
mod kube_rs;
mod kubectl;
mod kubectl_leases;
mod python;
