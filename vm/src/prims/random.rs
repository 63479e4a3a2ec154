//! Random numbers: xoshiro256** (Blackman and Vigna, 2018) seeded through SplitMix64.
//!
//! A `Random` keeps the generator's 256-bit state in a 32-byte ByteArray (four 64-bit words,
//! little-endian), which these primitives read and advance; everything else (`next`,
//! `between:and:`, `Random default`) is Smalltalk. The same seed gives the same sequence on
//! every machine: the state is defined bit for bit by the seed.
//!
//! The generator is a few lines, written here rather than taken from a crate because its
//! state must live in a heap object between calls, which the crates do not expose.

use super::numbers::{big_from_word, word_from_big};
use super::{Prim, PrimDef, done, prim_try};
use crate::objects::class_index as ci;
use crate::vm::Vm;
use dashu_int::{IBig, UBig};
use smalt_gc::Word;
use std::hash::{BuildHasher, Hasher};

/// Bytes of a generator's state.
const STATE_BYTES: usize = 32;

/// One step of SplitMix64: the seeding generator xoshiro's authors recommend.
fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One step of xoshiro256**: answers 64 random bits and advances the state.
fn xoshiro256ss(s: &mut [u64; 4]) -> u64 {
    let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
    let t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s[3].rotate_left(45);
    result
}

/// The state for a seed: four SplitMix64 outputs (never all zero).
fn seeded(seed: u64) -> [u64; 4] {
    let mut x = seed;
    [0; 4].map(|_| splitmix64(&mut x))
}

/// The generator state held by argument `i` (a 32-byte ByteArray), if it is one.
fn state_arg(vm: &Vm, n: usize, i: usize) -> Option<[u64; 4]> {
    let o = vm.arg(n, i).as_oop()?;
    if vm.heap.header(o).class_index() != ci::BYTE_ARRAY || vm.heap.is_read_only(o) {
        return None;
    }
    let bytes: &[u8; STATE_BYTES] = vm.heap.bytes(o).try_into().ok()?;
    Some(std::array::from_fn(|k| {
        u64::from_le_bytes(bytes[k * 8..k * 8 + 8].try_into().unwrap_or_default())
    }))
}

/// Stores a generator state back into argument `i` (checked by [`state_arg`]).
fn store_state(vm: &mut Vm, n: usize, i: usize, s: &[u64; 4]) {
    let o = vm.arg(n, i).oop();
    let bytes = vm.heap.bytes_mut(o);
    for (k, word) in s.iter().enumerate() {
        bytes[k * 8..k * 8 + 8].copy_from_slice(&word.to_le_bytes());
    }
}

/// `Random>>primSeed: anInteger state: aByteArray`: sets the state from the seed's low 64
/// bits (two's complement), so seeds equal modulo 2^64 give the same sequence.
fn random_seed(vm: &mut Vm, n: usize) -> Prim {
    let seed = prim_try!(big_from_word(vm, vm.arg(n, 1)));
    prim_try!(state_arg(vm, n, 2));
    let low = seed & IBig::from(u64::MAX);
    let low = prim_try!(u64::try_from(&low).ok());
    store_state(vm, n, 2, &seeded(low));
    Prim::Done(vm.rcv(n))
}

/// `Random>>primNextBits: aByteArray`: 53 random bits, a SmallInteger in [0, 2^53).
fn random_next_bits(vm: &mut Vm, n: usize) -> Prim {
    let mut s = prim_try!(state_arg(vm, n, 1));
    let bits = xoshiro256ss(&mut s) >> 11;
    store_state(vm, n, 1, &s);
    Prim::Done(Word::small_int(bits as i64))
}

/// `Random>>primNextInt: anInteger state: aByteArray`: an Integer from 1 to anInteger (of
/// any size), each equally likely. Draws random bits of anInteger's width and draws again
/// while they are not below it (fewer than two draws on average): no modulo bias.
fn random_next_int(vm: &mut Vm, n: usize) -> Prim {
    let limit = prim_try!(big_from_word(vm, vm.arg(n, 1)));
    let mut s = prim_try!(state_arg(vm, n, 2));
    if limit < IBig::ONE {
        return Prim::Fail;
    }
    let (_, words) = limit.as_sign_words();
    let top_bits = 64 - words.last().map_or(64, |w| w.leading_zeros());
    let top_mask = if top_bits == 64 {
        u64::MAX
    } else {
        (1u64 << top_bits) - 1
    };
    let len = words.len();
    let r = loop {
        let mut limbs: Vec<u64> = (0..len).map(|_| xoshiro256ss(&mut s)).collect();
        if let Some(top) = limbs.last_mut() {
            *top &= top_mask;
        }
        let r = IBig::from(UBig::from_words(&limbs));
        if r < limit {
            break r;
        }
    };
    store_state(vm, n, 2, &s);
    done(word_from_big(vm, &(r + IBig::ONE)))
}

/// `Random class>>freshSeed`: a seed no other generator of this process was given (the
/// standard library's per-process random hash keys, from the operating system, mixed with
/// the clock), as a SmallInteger.
fn random_fresh_seed(vm: &mut Vm, n: usize) -> Prim {
    let _ = (vm, n);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(now);
    Prim::Done(Word::small_int((h.finish() >> 4) as i64))
}

pub(super) const PRIMITIVES: &[PrimDef] = &[
    (&["Random>>primSeed:state:", "randomSeed"], random_seed),
    (
        &["Random>>primNextBits:", "randomNextBits"],
        random_next_bits,
    ),
    (
        &["Random>>primNextInt:state:", "randomNextInt"],
        random_next_int,
    ),
    (
        &["Random class>>freshSeed", "randomFreshSeed"],
        random_fresh_seed,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoshiro256ss_matches_the_reference_outputs() {
        // The reference implementation from state {1, 2, 3, 4}.
        let mut s = [1, 2, 3, 4];
        let out: Vec<u64> = (0..4).map(|_| xoshiro256ss(&mut s)).collect();
        assert_eq!(out, [11520, 0, 1509978240, 1215971899390074240]);
    }

    #[test]
    fn splitmix64_matches_the_reference_output() {
        let mut x = 0;
        assert_eq!(splitmix64(&mut x), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn seeds_give_distinct_nonzero_states() {
        assert_ne!(seeded(0), [0; 4]);
        assert_ne!(seeded(1), seeded(2));
    }
}
