//! Where a strict TOML parse failed, for the file formats keylab reads (content packs, masking
//! rules): the 1-based line of a byte offset, and a toml error as line, message and the fix for
//! the field errors every format shares. Each format adds its own fix for the rest.

/// The 1-based line of a byte offset in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|&b| b == b'\n')
        .count()
        + 1
}

/// A toml error's line, message, and the fix for an unknown or missing field (`None` for other
/// errors, whose fix the format knows).
pub fn describe(text: &str, e: &toml::de::Error) -> (Option<usize>, String, Option<&'static str>) {
    let line = e.span().map(|s| line_of(text, s.start));
    let message = e.message().trim().to_string();
    let fix = if message.starts_with("unknown field") {
        Some("remove the field or correct its spelling to one of those expected")
    } else if message.starts_with("missing field") {
        Some("add the field")
    } else {
        None
    };
    (line, message, fix)
}
