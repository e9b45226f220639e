//! The Amazon States Language as svless reads it, with no I/O: a definition parsed into typed
//! states ([`model`]) with every problem reported as `ValidateStateMachineDefinition` reports it,
//! and the pure parts of running one — JSONPath ([`path`]), payload templates ([`template`]),
//! choice rules ([`choice`]) and the intrinsic functions ([`intrinsic`]).
//!
//! `svless` checks a state machine against the app's tasks with it
//! (`App::check_state_machine`); `svless-local` runs state machines with it.
//!
//! ```
//! let definition = svless_asl::model::Definition::parse(r#"{
//!   "StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}
//! }"#).expect("valid");
//! assert_eq!(definition.states.len(), 1);
//! ```

pub mod choice;
pub mod intrinsic;
pub mod model;
pub mod path;
pub mod template;
