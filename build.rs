//! Embeds the benchmark programs of `benches/som/` in the binary for `smalt bench`: every
//! `*.som` file there, so a new benchmark is picked up by adding its file.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/som");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "som"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from(
        "/// (file name, source) of every file of benches/som, sorted by name.\n\
         pub static FILES: &[(&str, &str)] = &[\n",
    );
    for p in &files {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            p.display().to_string()
        );
    }
    out.push_str("];\n");
    let dest =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("bench_programs.rs");
    std::fs::write(dest, out).expect("write bench_programs.rs");
}
