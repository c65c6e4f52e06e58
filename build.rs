//! Rebuilds the binary when the embedded content pack changes: `include_dir!` cannot tell
//! cargo which files it read, so this script names the pack's folders (cargo scans a folder
//! named here for any change).

fn main() {
    for path in [
        "pack.toml",
        "lessons",
        "exercises",
        "graders",
        "src/pack/template",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
}
