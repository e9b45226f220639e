//! Any text as a state machine definition: parsed and validated with AWS's diagnostics, and when
//! valid, run by the interpreter (virtual clock) against the app's tasks — never a panic, never
//! a hang (the history limit ends every loop).
#![no_main]

use std::sync::OnceLock;
use svless::step_functions::StepFunctions;

fn machine() -> &'static StepFunctions<()> {
    static MACHINE: OnceLock<StepFunctions<()>> = OnceLock::new();
    MACHINE.get_or_init(|| StepFunctions::new(svless::App::new()))
}

libfuzzer_sys::fuzz_target!(|text: &str| {
    if text.len() > 16 * 1024 {
        return;
    }
    let (definition, _diagnostics) = svless_asl::model::Definition::validate(text);
    if definition.is_none() {
        return;
    }
    let run = svless_fuzz::runtime()
        .block_on(machine().run(text, serde_json::json!({"items": [1, 2, 3], "n": 5})));
    if let Ok(execution) = run {
        let _ = execution.states_entered();
    }
});
