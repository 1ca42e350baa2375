"""Spawned agents: naming, tiers, the Rust repository template, its offline `cargo test`, and
the test report (see README.md)."""
