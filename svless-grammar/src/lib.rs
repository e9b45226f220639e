//! The grammar [svless](https://docs.rs/svless) checks at compile time and applies at run time,
//! in one place: `svless-macros` (a proc-macro crate, which may not depend on the runtime) and
//! `svless-core` both read route templates and S3 event types with this crate, so the two can
//! never disagree. It has no dependencies.

pub mod s3;
pub mod template;
