//! Classroom workshops: a learner's signed results file ([`results`], made by `keylab submit`)
//! and the instructor's view of a class ([`class`], `keylab class collect`; [`watch`] collects
//! again as files arrive). No server: results travel as files, and their Ed25519 signatures
//! show any edit.

pub mod class;
pub mod mistakes;
mod render;
pub mod results;
mod table;
pub mod watch;

/// Checks a workshop id: 1 to 64 letters, digits, `.`, `_` or `-` (it names a folder).
pub fn check_workshop_id(id: &str) -> Result<&str, String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !id.starts_with('.');
    if ok {
        Ok(id)
    } else {
        Err(format!(
            "--workshop {id:?}: use 1 to 64 letters, digits, '.', '_' or '-' (not starting with '.'), as the instructor gave it"
        ))
    }
}
