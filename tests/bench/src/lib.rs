//! Benchmark data generators and drivers for kyuubi-reaper; see `BENCHMARKS.md` at the top of
//! the repository for what they measure and how to run them. Nothing here is shipped.
