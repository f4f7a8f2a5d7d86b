//! Build script: compiles the app's Tauri configuration, icons and capabilities into the binary.

fn main() {
    tauri_build::build()
}
