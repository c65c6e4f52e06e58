//! A real request through the console, as the learner would send it: whether it succeeds,
//! its AWS error code and its output. A file the command reads that the learner has not
//! written yet is their step still to do, not a broken check.

use super::*;

pub(super) async fn run(session: &Session, c: &CommandCheck) -> Result<(), Failure> {
    let line = sub(session, &c.run)?;
    let console = session.console_as(
        c.profile
            .as_deref()
            .unwrap_or(&session.exercise.spec.profile),
    );
    let outcome = console.run(&line).await;
    // A file the command reads that the learner has not written yet is their step
    // still to do, not a broken check.
    if outcome.missing_input {
        return Err(fail(format!(
            "`{line}` cannot run yet: {}",
            outcome.stderr.trim()
        )));
    }
    if outcome.code == 252 {
        return Err(broken(format!(
            "the check's command is not valid: {}",
            outcome.stderr.trim()
        )));
    }
    if c.succeeds != outcome.is_success() {
        return Err(fail(if c.succeeds {
            format!("`{line}` failed: {}", outcome.stderr.trim())
        } else {
            format!("`{line}` succeeded but must be refused")
        }));
    }
    if let Some(code) = &c.error_code
        && outcome.error_code.as_deref() != Some(code)
    {
        return Err(fail(format!(
            "`{line}` failed with {} instead of {code}",
            outcome.error_code.as_deref().unwrap_or("no AWS error code")
        )));
    }
    if let Some(text) = &c.output_contains
        && !outcome.stdout.contains(&sub(session, text)?)
    {
        return Err(fail(format!(
            "the output of `{line}` does not contain {text}"
        )));
    }
    Ok(())
}
