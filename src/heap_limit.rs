//! `--max-heap`: reading a size, and refusing at start-up a limit the class library does not
//! fit in, with the size it needs.

use smalt::Started;
use smalt_gc::MAX_SPACE_BYTES;
use smalt_vm::VmOptions;
use std::path::Path;

/// Parses a size: a number of bytes with an optional K, M or G suffix (powers of 1024).
pub(crate) fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let (digits, unit) = match s.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&s[..s.len() - 1], 1u128 << 10),
        Some('M') => (&s[..s.len() - 1], 1 << 20),
        Some('G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{s}' is not a size (e.g. 512M, 2G)"));
    }
    let largest = format!("{}G", MAX_SPACE_BYTES >> 30);
    let too_large = || format!("'{s}' is too large: the number overflows (at most {largest})");
    let n: u128 = digits.parse().map_err(|_| too_large())?;
    let bytes = n.checked_mul(unit).ok_or_else(too_large)?;
    let bytes = usize::try_from(bytes).map_err(|_| too_large())?;
    if bytes > MAX_SPACE_BYTES {
        return Err(format!(
            "'{s}' is larger than the largest heap smalt can have ({largest})"
        ));
    }
    // A limit too small for the class library is reported at start-up, with what it needs.
    Ok(bytes)
}

/// Starts a VM with `options` from the image file `image`, or from the default image. If the
/// heap limit is too small for the image (the class library and whatever else it holds), the
/// error says so, with the size that would do.
pub(crate) fn start_vm(options: VmOptions, image: Option<&Path>) -> Result<Started, String> {
    let limit = options.heap.max_bytes;
    let cannot = |e: &dyn std::fmt::Display| match image {
        Some(path) => format!("cannot load {}: {e}", path.display()),
        None => format!("cannot start: {e}"),
    };
    let started = match smalt::start(options.clone(), image) {
        Ok(started) => started,
        Err(e) => {
            // Measure what the image takes in a heap that holds it, for the message.
            let mut roomy = options;
            roomy.heap = VmOptions::default().heap;
            return match smalt::start(roomy, image) {
                Ok(s) if limit < smallest_limit(s.vm.heap.used_bytes()) => {
                    Err(too_small(limit, Some(s.vm.heap.used_bytes())))
                }
                _ => Err(cannot(&e)),
            };
        }
    };
    // An image is saved right after a full collection: what it uses is live.
    let live = started.vm.heap.used_bytes();
    if limit < smallest_limit(live) {
        return Err(too_small(limit, Some(live)));
    }
    Ok(started)
}

/// The smallest limit, in whole MiB, that leaves a quarter of the heap free for programs once
/// the library (`live` bytes) and the memory reserve are in it.
fn smallest_limit(live: usize) -> usize {
    let reserve = |limit: usize| (limit / 8).min(smalt_vm::memory::RESERVE_BYTES);
    let mut limit = 1 << 20;
    while (limit - reserve(limit)).saturating_sub(live) < limit / 4 {
        limit += 1 << 20;
    }
    limit
}

fn too_small(limit: usize, library: Option<usize>) -> String {
    let mb = |b: usize| format!("{:.1}M", b as f64 / (1 << 20) as f64);
    match library {
        Some(live) => format!(
            "a heap limit of {} is too small: the class library alone takes {}; give at least {}M",
            mb(limit),
            mb(live),
            smallest_limit(live) >> 20
        ),
        None => format!(
            "a heap limit of {} is too small for the class library",
            mb(limit)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_absurd_ones_say_why_not() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        for absurd in [
            "99999999999999G",
            "99999999999999999999999999999",
            "17179869184G",
        ] {
            let e = parse_size(absurd).unwrap_err();
            assert!(e.contains("overflows"), "{absurd}: {e}");
        }
        assert!(parse_size("64G").unwrap_err().contains("largest heap"));
        assert!(parse_size("12Q").unwrap_err().contains("not a size"));
        assert!(parse_size("-5M").unwrap_err().contains("not a size"));
        assert!(parse_size("M").unwrap_err().contains("not a size"));
        assert_eq!(parse_size("100K"), Ok(100 << 10));
    }

    #[test]
    fn the_smallest_limit_leaves_a_quarter_free() {
        for live in [0, 700 << 10, 3 << 20, 100 << 20] {
            let l = smallest_limit(live);
            assert!(l - (l / 8).min(smalt_vm::memory::RESERVE_BYTES) - live >= l / 4);
            assert_eq!(l % (1 << 20), 0);
        }
    }
}
