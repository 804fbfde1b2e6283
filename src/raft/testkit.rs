//! A deterministic, single-threaded network of Raft cores for stepping the paper's
//! scenarios by hand (filled in by the pure-core test work).
