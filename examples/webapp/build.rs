//! Links the release binary as a position-dependent executable on Linux.
//!
//! A position-independent executable (the default) has every pointer in its read-only data
//! relocated by the dynamic loader at each start: for this binary about 32,000 relocations
//! writing 1.1 MB of `.data.rel.ro`, each page copied on write — 170 page faults and about
//! 0.25 ms of every cold start (`cargo run --release -p svless-benches --bin cold_start`). Linked
//! at a fixed address, that data is mapped from the file as it is read. The cost: the
//! executable's own image is not placed at a random address (its libraries, stack and heap
//! still are). `docs/performance.md` has the figures; delete this file to link as PIE again.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let release = std::env::var("PROFILE").is_ok_and(|profile| profile == "release");
    if linux && release {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
}
