//! The one integration test binary: black-box tests of the `kyuubi-reaper` executable.
