//! Images from the command line: saving from the REPL (`:save`, `Smalltalk saveImage:`), from
//! `-e` and from programs, resuming with `--image` (the suspended run first, then `-e`, a
//! program or the REPL), one-line errors for bad image files, and an atomic save that a
//! SIGKILL in the middle leaves harmless.

mod common;
use common::cli::{path_str, scratch_dir, smalt, smalt_cmd, smalt_in, stderr, stdout};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn repl_definitions_survive_save_and_resume() {
    let dir = scratch_dir("repl");
    let image = path_str(&dir.join("repl.image"));
    let o = smalt_in(
        &[],
        format!(
            "x := 3 + 4\n\
             Counter = Object ( | n | next = ( n isNil ifTrue: [ n := 0 ]. n := n + 1. ^n ) )\n\
             c := Counter new. c next. c next\n\
             :save {image}\n\
             x := 100\n"
        ),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("7\nCounter defined\n2\nsaved {image}\n100\n")
    );
    // The saved world: x is still 7, the class and the instance's state are there, and so is
    // `it` (the last value shown before the save).
    let o = smalt_in(&["--image", &image], "it\nx\nc next\nCounter new next\n");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "2\n7\n3\n1\n");
    let o = smalt(&["--image", &image, "-e", "c next + x"]);
    assert_eq!(stdout(&o), "10\n", "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_repl_input_that_saves_continues_in_the_resumed_image() {
    let dir = scratch_dir("repl-doit");
    let image = path_str(&dir.join("doit.image"));
    let o = smalt_in(
        &[],
        format!(
            "y := 5\n(Smalltalk saveImage: '{image}') printString, ' ', y printString\ny := 6\n"
        ),
    );
    assert_eq!(stdout(&o), "5\n'false 5'\n6\n", "{}", stderr(&o));
    // Resumed: the input's value is printed as the REPL would, then the REPL goes on.
    let o = smalt_in(&["--image", &image], "y\n");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "'true 5'\n5\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn eval_and_programs_save_and_resume() {
    let dir = scratch_dir("prog");
    let image = path_str(&dir.join("e.image"));
    let o = smalt(&[
        "-e",
        &format!(
            "| n | n := 41. (Smalltalk saveImage: '{image}') ifTrue: [ n + 1 ] ifFalse: [ n ]"
        ),
    ]);
    assert_eq!(stdout(&o), "41\n", "{}", stderr(&o));
    let o = smalt(&["--image", &image]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "42\n");
    // With -e, the suspended run finishes first, then the expression runs in its world.
    let o = smalt(&["--image", &image, "-e", "3 * 3"]);
    assert_eq!(stdout(&o), "42\n9\n", "{}", stderr(&o));

    let prog_image = path_str(&dir.join("p.image"));
    let file = dir.join("Saver.som");
    std::fs::write(
        &file,
        format!(
            "Saver = (\n  run: args = (\n    | tally |\n    tally := args size.\n    \
             (system saveImage: '{prog_image}')\n      \
             ifTrue: [ ('resumed with ', tally printString) println ]\n      \
             ifFalse: [ 'saved' println ].\n    'done' println\n  )\n)\n"
        ),
    )
    .unwrap();
    let o = smalt(&[&path_str(&file), "a", "b"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "saved\ndone\n");
    let o = smalt(&["--image", &prog_image]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "resumed with 3\ndone\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_resumed_program_that_fails_or_exits_sets_the_status() {
    let dir = scratch_dir("status");
    let a = path_str(&dir.join("a.image"));
    let b = path_str(&dir.join("b.image"));
    let file = dir.join("Failer.som");
    std::fs::write(
        &file,
        format!(
            "Failer = (\n  run = (\n    (system saveImage: '{a}') ifTrue: [ nil bar ].\n    \
             (system saveImage: '{b}') ifTrue: [ system exit: 7 ]\n  )\n)\n"
        ),
    )
    .unwrap();
    let o = smalt(&[&path_str(&file)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = smalt(&["--image", &a, "-e", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("does not understand #bar"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stdout(&o), "", "the -e did not run after the failure");
    let o = smalt(&["--image", &b]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_image_files_give_one_line_errors() {
    let dir = scratch_dir("bad");
    let garbage = dir.join("garbage.image");
    std::fs::write(&garbage, "Object subclass: #Foo").unwrap();
    let good = dir.join("good.image");
    let o = smalt_in(&[], format!(":save {}\n", path_str(&good)));
    assert!(o.status.success());
    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.join("truncated.image");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let flipped = dir.join("flipped.image");
    let mut f = bytes.clone();
    f[bytes.len() / 2] ^= 0x10;
    std::fs::write(&flipped, &f).unwrap();
    let cases = [
        (dir.join("missing.image"), "No such file"),
        (garbage, "not a smalt image"),
        (truncated, "truncated image"),
        (flipped, "checksum does not match"),
        (dir.clone(), "Is a directory"),
    ];
    for (path, expected) in cases {
        let o = smalt(&["--image", &path_str(&path), "-e", "3 + 4"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{}: {err}", path.display());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!("smalt: cannot load {}: ", path.display()))
                && err.contains(expected),
            "{err}"
        );
        assert_eq!(stdout(&o), "");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn saving_where_it_cannot_is_a_smalltalk_error() {
    let o = smalt(&[
        "-e",
        "[ Smalltalk saveImage: '/nonexistent-dir/x.image' ] on: Error do: [:e | e messageText ]",
    ]);
    assert!(
        stdout(&o).starts_with(
            "'cannot save the image: cannot write /nonexistent-dir/x.image: No such file"
        ),
        "{}",
        stdout(&o)
    );
    // The REPL's :save complains on stderr (as its other commands do) and goes on.
    let o = smalt_in(&[], ":save /nonexistent-dir/y.image\n:save\n3 + 4\n");
    assert_eq!(
        stderr(&o),
        "cannot write /nonexistent-dir/y.image: No such file or directory (os error 2)\n\
         usage: :save FILE\n"
    );
    assert_eq!(stdout(&o), "7\n");
}

/// The temporary file a save by process `pid` writes beside `target`.
fn temp_of(target: &Path, pid: u32) -> PathBuf {
    let name = target.file_name().unwrap().to_string_lossy();
    target.with_file_name(format!(".{name}.{pid}.tmp"))
}

/// SIGKILL in the middle of a save: the previous image stays as it was, and loads.
#[test]
fn a_save_killed_midway_leaves_the_previous_image_intact() {
    let dir = scratch_dir("kill");
    let image = dir.join("w.image");
    let o = smalt_in(&[], format!("Marker := 1\n:save {}\n", path_str(&image)));
    assert!(o.status.success(), "{}", stderr(&o));
    let before = std::fs::read(&image).unwrap();
    // A save of a large heap (some hundreds of MB), killed once its temporary file has grown.
    let mut caught = false;
    for megabytes in [200, 400, 800] {
        let mut child = smalt_cmd()
            .args([
                "-e",
                &format!(
                    "Big := ByteArray new: {megabytes} * 1000000. Marker := 2. \
                     Smalltalk saveImage: '{}'",
                    path_str(&image)
                ),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the smalt binary runs");
        let tmp = temp_of(&image, child.id());
        let started = Instant::now();
        let mut killed_at = None;
        while started.elapsed() < Duration::from_secs(120) {
            if let Ok(m) = std::fs::metadata(&tmp)
                && m.len() > 1 << 20
            {
                child.kill().expect("SIGKILL");
                killed_at = Some(m.len());
                break;
            }
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let _ = child.wait();
        if killed_at.is_some() && tmp.exists() {
            caught = true;
            // The target was never touched: same bytes, loads, the old world.
            assert!(
                std::fs::read(&image).unwrap() == before,
                "the image changed"
            );
            let o = smalt(&["--image", &path_str(&image), "-e", "Marker"]);
            assert_eq!(stdout(&o), "1\n", "{}", stderr(&o));
            // The next save of that image removes the dead save's leftover.
            let o = smalt(&[
                "--image",
                &path_str(&image),
                "-e",
                &format!("Smalltalk saveImage: '{}'", path_str(&image)),
            ]);
            assert!(o.status.success(), "{}", stderr(&o));
            assert!(
                !tmp.exists(),
                "the killed save's temporary file is still there"
            );
            break;
        }
        // The save finished before the kill: start again from the old image, save bigger.
        std::fs::write(&image, &before).unwrap();
    }
    assert!(caught, "no save was caught in the middle");
    std::fs::remove_dir_all(&dir).unwrap();
}
