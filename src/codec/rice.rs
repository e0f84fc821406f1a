//! Golomb–Rice coding of small signed integers (zigzagged), in blocks of 128 with a parameter `k`
//! each: a value `z` is its quotient `z >> k` in unary, then the low `k` bits of `z`. Residuals of
//! real series are peaked around zero (most small, a few large), where frame-of-reference packing
//! pays the largest value's width for every value and Rice pays about its entropy.
//!
//! The unary run ([`Unary`]) is `q` zero-bits and a one-bit (frame format 4 on), or `q` one-bits
//! and a zero-bit (formats up to 3, still read). A quotient of [`ESCAPE`] or more is written as
//! `ESCAPE` run bits with no end bit and the zigzagged value whole, so one outlier costs 96 bits,
//! never billions, and a hostile stream cannot make the reader count for long.
//!
//! Layout: one byte of `k` per block, then the bits (least significant first, as [`BitWriter`]
//! writes them) up to the next whole byte. The stream delimits itself: the reader gives back
//! the bytes after it.

use super::CodecError;
use super::io::{BitReader, BitWriter, ByteReader, ByteWriter, unzigzag, zigzag};

/// Values per block (one `k` each).
const BLOCK: usize = 128;

/// Quotients from here on are escaped.
const ESCAPE: u64 = 32;

/// The widest `k` the fast run ([`Bits::fast_run`]) decodes: a value with a quotient under
/// [`ESCAPE`] then takes at most 56 bits, what the run keeps buffered.
const FAST_K: u32 = 24;

/// The widest `k` the fast run decodes two values at a time, each with a quotient under
/// [`PAIR_Q`]: the two then take at most 56 bits.
const PAIR_K: u32 = 12;

/// The quotients the fast run takes two at a time (a longer one, rare where `k` fits the block,
/// is read the careful way).
const PAIR_Q: u32 = 16;

/// How a quotient's unary run is written.
///
/// Each value's length is known only once the one before it is read, so the decoder's speed is
/// that chain's: counting the run, adding `k`, shifting the buffer. Counted as zeros, the run is
/// `trailing_zeros` of the buffer itself, with no `not` in the chain: `decimal` on the sample
/// tables 1.02–1.13× as fast (median 1.09; a binary each way, alternated, 2026-12-02).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unary {
    /// `q` zero-bits and a one-bit: what [`encode`] writes.
    Zeros,
    /// `q` one-bits and a zero-bit: frames up to format 3.
    Ones,
}

/// The length of the unary run at the bottom of `bits` (64 when it fills them).
#[inline(always)]
fn run_length<const ZEROS: bool>(bits: u64) -> u32 {
    if ZEROS {
        bits.trailing_zeros()
    } else {
        bits.trailing_ones()
    }
}

/// How many end bits in a row are at the bottom of `bits`: with `k` = 0, each is a zero value.
#[inline(always)]
fn end_bits<const ZEROS: bool>(bits: u64) -> u32 {
    run_length::<ZEROS>(!bits)
}

/// Bits `z` takes with parameter `k`.
fn bits_of(z: u64, k: u32) -> u64 {
    let q = z >> k;
    if q >= ESCAPE {
        ESCAPE + 64
    } else {
        q + 1 + u64::from(k)
    }
}

/// The `k` that codes `block` in the fewest bits, and those bits. Rice coding is best near
/// `k ≈ log2` of a typical value: the candidates run from the median's bit length (right when a
/// few outliers drag the mean up) to the mean's (right for peaked residuals), one either side,
/// and each is costed exactly, in one pass over the block.
fn best_k(block: &[i64]) -> (u32, u64) {
    let mut zs = [0u64; BLOCK];
    let zs = &mut zs[..block.len().min(BLOCK)];
    let mut lengths = [0u32; 65];
    let mut sum = 0u128;
    for (z, &v) in zs.iter_mut().zip(block) {
        *z = zigzag(v);
        lengths[(64 - z.leading_zeros()) as usize] += 1;
        sum += u128::from(*z);
    }
    let mean = (sum / zs.len().max(1) as u128).max(1);
    let by_mean = 127 - mean.leading_zeros();
    let mut seen = 0;
    let half = zs.len().div_ceil(2) as u32;
    let by_median = lengths
        .iter()
        .position(|&count| {
            seen += count;
            seen >= half
        })
        .unwrap_or(0) as u32;
    let low = by_mean.min(by_median).saturating_sub(1);
    let high = (by_mean.max(by_median) + 1).min(63).max(low);
    // At most 64 candidates; in practice a handful.
    let mut costs = [0u64; 64];
    let costs = &mut costs[..=(high - low) as usize];
    for &z in zs.iter() {
        for (offset, cost) in costs.iter_mut().enumerate() {
            *cost += bits_of(z, low + offset as u32);
        }
    }
    costs
        .iter()
        .enumerate()
        .min_by_key(|&(offset, &bits)| (bits, offset))
        .map_or((0, 0), |(offset, &bits)| (low + offset as u32, bits))
}

/// Bytes [`encode`] writes for `values`.
pub(crate) fn encoded_len(values: &[i64]) -> usize {
    let bits: u64 = values.chunks(BLOCK).map(|b| best_k(b).1).sum();
    values.len().div_ceil(BLOCK) + bits.div_ceil(8) as usize
}

/// Writes `values` (see the module's layout), quotients as [`Unary::Zeros`].
pub(crate) fn encode(values: &[i64], out: &mut ByteWriter<'_>) -> Result<(), CodecError> {
    encode_as(values, Unary::Zeros, out)
}

/// Writes `values` with their quotients as `unary` says (the older form only for tests).
pub(crate) fn encode_as(
    values: &[i64],
    unary: Unary,
    out: &mut ByteWriter<'_>,
) -> Result<(), CodecError> {
    for block in values.chunks(BLOCK) {
        out.put_u8(best_k(block).0 as u8)?;
    }
    let mut stream = BitWriter::new(out);
    for block in values.chunks(BLOCK) {
        let (k, _) = best_k(block);
        for &v in block {
            put_value(&mut stream, zigzag(v), k, unary)?;
        }
    }
    stream.finish()
}

/// Writes one zigzagged value `z` with parameter `k`.
fn put_value(
    stream: &mut BitWriter<'_, '_>,
    z: u64,
    k: u32,
    unary: Unary,
) -> Result<(), CodecError> {
    let q = z >> k;
    let run_bit = match unary {
        Unary::Zeros => 0,
        Unary::Ones => u64::MAX,
    };
    if q >= ESCAPE {
        stream.put(run_bit, ESCAPE as u32)?;
        stream.put(z, 64)
    } else {
        // q run bits then the other bit, least significant first: the low q+1 bits of 2^q
        // (zeros) or of 2^q - 1 (ones).
        let run = match unary {
            Unary::Zeros => 1u64 << q,
            Unary::Ones => (1u64 << q) - 1,
        };
        stream.put(run, q as u32 + 1)?;
        stream.put(z, k)
    }
}

/// Reads what [`encode`] (or, with [`Unary::Ones`], an older writer) wrote into `out` (whose
/// length says how many values).
pub(crate) fn decode(
    input: &mut ByteReader<'_>,
    out: &mut [i64],
    unary: Unary,
) -> Result<(), CodecError> {
    match unary {
        Unary::Zeros => decode_as::<true>(input, out),
        Unary::Ones => decode_as::<false>(input, out),
    }
}

/// [`decode`] with the run's bit fixed when the code is compiled: `ZEROS` for [`Unary::Zeros`].
fn decode_as<const ZEROS: bool>(
    input: &mut ByteReader<'_>,
    out: &mut [i64],
) -> Result<(), CodecError> {
    let blocks = out.len().div_ceil(BLOCK);
    let ks = input.take(blocks)?;
    if ks.iter().any(|&k| k > 63) {
        return Err(CodecError::Corrupt("rice parameter over 63"));
    }
    let data = input.take(input.remaining())?;
    let mut bits = Bits::new(data);
    for (block, &k) in out.chunks_mut(BLOCK).zip(ks) {
        let k = u32::from(k);
        let mask = (1u64 << k) - 1;
        // Refilled only below what a value with a short quotient takes, so that most values
        // are a shift of the buffer with no load in between.
        let low = (k + 8).min(57);
        let mut i = 0;
        while i < block.len() {
            if bits.available < low {
                bits.refill();
            }
            if (1..=FAST_K).contains(&k) {
                i += bits.fast_run::<ZEROS>(&mut block[i..], k);
                if i == block.len() {
                    break;
                }
            }
            if k == 0 {
                // Each end bit alone is a zero: a quiet stretch of a sparse column, many at once.
                let zeros = (end_bits::<ZEROS>(bits.buffer).min(bits.available) as usize)
                    .min(block.len() - i);
                if zeros > 1 {
                    block[i..i + zeros].fill(0);
                    i += zeros;
                    bits.consume(zeros as u32);
                    continue;
                }
            }
            // Fast path: the quotient's run, its end bit and the `k` low bits all buffered.
            let mut q = run_length::<ZEROS>(bits.buffer);
            if q + 1 + k > bits.available && bits.available < 57 {
                bits.refill();
                q = run_length::<ZEROS>(bits.buffer);
            }
            let taken = q + 1 + k;
            let z = if u64::from(q) < ESCAPE && taken <= bits.available && taken < 64 {
                let z = (u64::from(q) << k) | ((bits.buffer >> (q + 1)) & mask);
                // Under 64: a plain shift, no case for a whole buffer taken.
                bits.buffer >>= taken;
                bits.available -= taken;
                z
            } else {
                let (z, end) = slow_value::<ZEROS>(data, bits.position(), k)?;
                bits = Bits::at(data, end);
                z
            };
            block[i] = unzigzag(z);
            i += 1;
        }
    }
    let end = bits.position();
    if end > data.len() * 8 {
        return Err(CodecError::Corrupt("rice stream ends early"));
    }
    input.unread(data.len() - end.div_ceil(8));
    Ok(())
}

/// The stream's next bits in a 64-bit buffer, least significant first, refilled a whole byte
/// at a time to at least 57 bits: taking bits is a shift, with no load in the chain from one
/// value to the next. Past the end of the data the buffer fills with zeros (the caller checks
/// the position against the data's length).
struct Bits<'a> {
    data: &'a [u8],
    /// The next bits; those above `available` are either zero or the stream's own next bits.
    buffer: u64,
    /// How many of `buffer`'s bits are the stream's, from bit 0.
    available: u32,
    /// The byte after the last one loaded into `buffer`.
    next_byte: usize,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self::at(data, 0)
    }

    /// Positioned at bit `bit` of `data`.
    fn at(data: &'a [u8], bit: usize) -> Self {
        let mut bits = Bits {
            data,
            buffer: load(data, bit / 8) >> (bit % 8),
            available: 64 - (bit % 8) as u32,
            next_byte: bit / 8 + 8,
        };
        bits.refill();
        bits
    }

    /// Tops the buffer up to at least 57 bits.
    #[inline(always)]
    fn refill(&mut self) {
        if self.available < 57 {
            let whole = (64 - self.available) / 8;
            self.buffer |= load(self.data, self.next_byte) << self.available;
            self.available += whole * 8;
            self.next_byte += whole as usize;
        }
    }

    /// Drops the lowest `n` bits (`n` at most `available`).
    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.buffer = if n >= 64 { 0 } else { self.buffer >> n };
        self.available -= n;
    }

    /// Decodes the start of `block` (Rice parameter `k`, 1 to [`FAST_K`]) while its values are
    /// short and eight more bytes follow in the data: how many. The buffer is topped up without
    /// a branch ([`top_up`]), after every value or, for `k` up to [`PAIR_K`], every two
    /// (two short values fit in what one top-up guarantees), so a value is a count of its run,
    /// two shifts, a mask and a store, with nothing in the loop but the end of the data to look at.
    /// A longer value ends the run: the caller reads it the careful way, and may start another.
    fn fast_run<const ZEROS: bool>(&mut self, block: &mut [i64], k: u32) -> usize {
        debug_assert!((1..=FAST_K).contains(&k));
        // At least 56 bits at each step's start (`top_up`): two values of quotients under
        // `PAIR_Q` take at most 2 × (15 + 1 + 12) = 56, one under `ESCAPE` 31 + 1 + 24 = 56.
        if k <= PAIR_K {
            self.run_of::<2, ZEROS>(block, k, PAIR_Q)
        } else {
            self.run_of::<1, ZEROS>(block, k, ESCAPE as u32)
        }
    }

    /// [`Bits::fast_run`] with a top-up every `N` values, each with a quotient under `below`
    /// (`N` of them taking at most 56 bits). Not inlined: alone, its loop keeps nearly
    /// everything in registers.
    #[inline(never)]
    fn run_of<const N: usize, const ZEROS: bool>(
        &mut self,
        block: &mut [i64],
        k: u32,
        below: u32,
    ) -> usize {
        self.refill();
        let data = self.data;
        // A whole eight-byte load at every position up to here.
        let Some(last_load) = data.len().checked_sub(8) else {
            return 0;
        };
        let mask = (1u64 << k) - 1;
        let (mut buffer, mut available, mut next) = (self.buffer, self.available, self.next_byte);
        let mut done = 0;
        'steps: for step in block.chunks_exact_mut(N) {
            for slot in step {
                // A run under `below` ends in a one-bit or zero-bit the stream holds: the bits
                // above `available` are the stream's own or zeros (see `Bits::buffer`).
                let q = run_length::<ZEROS>(buffer);
                if q >= below {
                    break 'steps;
                }
                let taken = q + 1 + k;
                *slot = unzigzag((u64::from(q) << k) | ((buffer >> (q + 1)) & mask));
                // Under 64 (at most 56): a plain shift; at most 63 bits are left for the top-up.
                buffer >>= taken;
                available -= taken;
                done += 1;
            }
            if !top_up(data, last_load, &mut buffer, &mut available, &mut next) {
                break;
            }
        }
        (self.buffer, self.available, self.next_byte) = (buffer, available, next);
        done
    }

    /// Bits taken so far.
    fn position(&self) -> usize {
        self.next_byte * 8 - self.available as usize
    }
}

/// Eight bytes from `at` on, little-endian, zeros past the end of `data`.
#[inline]
fn load(data: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    match data.get(at..at + 8) {
        Some(eight) => word.copy_from_slice(eight),
        None => {
            let tail = data.get(at..).unwrap_or(&[]);
            word[..tail.len()].copy_from_slice(tail);
        }
    }
    u64::from_le_bytes(word)
}

/// Tops a buffer of `available` bits (at most 63) up to 56–63 without a branch: the eight
/// bytes at `next` shifted in above what it holds, `next` moved past the whole bytes that added.
/// Bits at `available` and above are zero or the stream's own (see [`Bits::buffer`]), so or-ing
/// the word in there keeps them right. `false`, touching nothing, once `next` is past
/// `last_load` (fewer than eight bytes left).
#[inline(always)]
fn top_up(
    data: &[u8],
    last_load: usize,
    buffer: &mut u64,
    available: &mut u32,
    next: &mut usize,
) -> bool {
    if *next > last_load {
        return false;
    }
    let word = u64::from_le_bytes(data[*next..*next + 8].try_into().unwrap_or([0; 8]));
    *buffer |= word << *available;
    *next += ((63 - *available) >> 3) as usize;
    *available |= 56;
    true
}

/// One value at `bit` the long way (a long quotient, an escape, a wide `k`): the value and where
/// the next one starts.
fn slow_value<const ZEROS: bool>(
    data: &[u8],
    bit: usize,
    k: u32,
) -> Result<(u64, usize), CodecError> {
    let mut stream = BitReader::over(data);
    stream.skip_bits(bit)?;
    let q = u64::from(run_length::<ZEROS>(stream.peek())).min(ESCAPE);
    let z = if q >= ESCAPE {
        stream.skip(ESCAPE as u32)?;
        stream.get(64)?
    } else {
        stream.skip(q as u32 + 1)?;
        (q << k) | stream.get(k)?
    };
    Ok((z, stream.position()))
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Both forms of the unary run: what `encode` writes and what frames up to format 3 hold.
    const BOTH: [Unary; 2] = [Unary::Zeros, Unary::Ones];

    fn round_trip(values: &[i64]) -> usize {
        let mut lens = BOTH.map(|unary| round_trip_as(values, unary));
        lens.sort_unstable();
        assert_eq!(lens[0], lens[1], "both forms take the same bits");
        lens[0]
    }

    fn round_trip_as(values: &[i64], unary: Unary) -> usize {
        let mut buf = vec![0u8; values.len() * 13 + 16];
        let mut w = ByteWriter::new(&mut buf);
        encode_as(values, unary, &mut w).unwrap();
        let len = w.position();
        assert_eq!(
            len,
            encoded_len(values),
            "the size promised is the size written"
        );
        // Bytes after the stream are left for the next reader.
        buf[len] = 0xa5;
        let mut r = ByteReader::new(&buf[..=len]);
        let mut back = vec![0i64; values.len()];
        decode(&mut r, &mut back, unary).unwrap();
        assert_eq!(r.u8().unwrap(), 0xa5);
        r.finish().unwrap();
        assert_eq!(back, values, "{unary:?}");
        len
    }

    #[test]
    fn runs_are_zeros_ended_by_a_one_and_older_streams_ones_ended_by_a_zero() {
        // z = 2 with k = 1 is quotient 1 and low bit 0; least significant bit first, four times:
        // a run bit, the end bit, the low bit.
        assert_eq!(
            forced(&[2; 4], 1, Unary::Zeros),
            [1, 0b1001_0010, 0b0000_0100]
        );
        assert_eq!(
            forced(&[2; 4], 1, Unary::Ones),
            [1, 0b0100_1001, 0b0000_0010]
        );
        // `encode` writes zeros: its stream is not the ones form's.
        let values: Vec<i64> = (0..300).map(|i| (i * 7919 % 23) - 11).collect();
        let mut buf = vec![0u8; 4096];
        let mut w = ByteWriter::new(&mut buf);
        encode(&values, &mut w).unwrap();
        let len = w.position();
        let mut back = vec![0i64; values.len()];
        decode(&mut ByteReader::new(&buf[..len]), &mut back, Unary::Zeros).unwrap();
        assert_eq!(back, values);
        let as_ones = decode(&mut ByteReader::new(&buf[..len]), &mut back, Unary::Ones);
        assert!(as_ones.is_err() || back != values);
    }

    #[test]
    fn peaked_values_and_outliers_round_trip() {
        let mut values: Vec<i64> = (0..500).map(|i| ((i * 7919) % 23) - 11).collect();
        values.extend([i64::MIN, i64::MAX, 0, -1, 1 << 40, -(1 << 40)]);
        values.extend((0..100).map(|i| i % 2));
        round_trip(&values);
        // Sparse: long stretches of zeros (decoded many at a time) across block boundaries,
        // broken by small values and outliers.
        let sparse: Vec<i64> = (0..1000)
            .map(|i| match i % 97 {
                0 => 1,
                50 => -(1 << 35),
                _ => 0,
            })
            .collect();
        round_trip(&sparse);
        round_trip(&[0; 300]);
        round_trip(&[]);
        round_trip(&[0]);
    }

    #[test]
    fn small_residuals_cost_about_their_entropy() {
        // Values in -3..=3: zigzag 0..=6, k = 1 or 2: about 3.5 bits each, where frame of
        // reference packing pays 3 and a byte per block: Rice does not lose on these...
        let small: Vec<i64> = (0..1024).map(|i| (i * 31 % 7) - 3).collect();
        assert!(round_trip(&small) <= 1024 * 4 / 8 + 32);
        // ...and wins by far with one outlier a block.
        let spiky: Vec<i64> = (0..1024)
            .map(|i| if i % 64 == 0 { 1 << 30 } else { i % 3 - 1 })
            .collect();
        assert!(
            round_trip(&spiky) < 1024 * 3 / 8 + 16 * 13,
            "{}",
            round_trip(&spiky)
        );
    }

    /// Blocks of noise of `bits` bits (so `k` near it, across the fast run's limits) with
    /// spikes, each `spike_every`-th value, of `spike_bits` more (long quotients and escapes in
    /// the middle of a fast run), of every length (the data's end inside a run).
    fn noisy(seed: u64, len: usize, bits: u32, spike_every: usize, spike_bits: u32) -> Vec<i64> {
        let mut state = seed | 1;
        (0..len)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let noise = (state >> (64 - bits.max(1))) as i64 - (1i64 << (bits.max(1) - 1));
                if i % spike_every == spike_every - 1 {
                    noise.wrapping_shl(spike_bits).wrapping_add(1)
                } else {
                    noise
                }
            })
            .collect()
    }

    /// A stream of `zs` (zigzagged values) written with parameter `k` in every block, whatever
    /// [`best_k`] would choose: quotients exactly where the decoder's fast run changes course.
    fn forced(zs: &[u64], k: u32, unary: Unary) -> Vec<u8> {
        let mut buf = vec![0u8; zs.len() * 13 + 16];
        let mut out = ByteWriter::new(&mut buf);
        for _ in zs.chunks(BLOCK) {
            out.put_u8(k as u8).unwrap();
        }
        let mut stream = BitWriter::new(&mut out);
        for &z in zs {
            put_value(&mut stream, z, k, unary).unwrap();
        }
        stream.finish().unwrap();
        let len = out.position();
        buf.truncate(len);
        buf
    }

    #[test]
    fn quotients_at_the_fast_runs_limits_decode_exactly() {
        // The longest quotients two at a time take (`PAIR_Q` - 1) and the first they do not,
        // the longest one at a time takes and the escape; for `k` on both sides of `PAIR_K`
        // and `FAST_K`, in runs of each and mixed, and blocks of every length to the data's end.
        let limits = [0, 1, PAIR_Q - 1, PAIR_Q, ESCAPE as u32 - 1, ESCAPE as u32];
        for k in [
            0,
            1,
            2,
            PAIR_K - 1,
            PAIR_K,
            PAIR_K + 1,
            FAST_K - 1,
            FAST_K,
            FAST_K + 1,
            40,
        ] {
            let low = |i: u64| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) & ((1u64 << k) - 1);
            for (n, &a) in limits.iter().enumerate() {
                for &b in &limits[n..] {
                    for len in [1, 2, 3, 7, 8, 9, 63, 127, 128, 129, 300] {
                        let zs: Vec<u64> = (0..len as u64)
                            .map(|i| {
                                let q = if i % 3 == 2 { b } else { a };
                                (u64::from(q) << k) | low(i)
                            })
                            .collect();
                        for unary in BOTH {
                            let mut bytes = forced(&zs, k, unary);
                            let stream = bytes.len();
                            bytes.push(0xa5);
                            let mut back = vec![0i64; zs.len()];
                            let mut r = ByteReader::new(&bytes);
                            decode(&mut r, &mut back, unary).unwrap();
                            let want: Vec<i64> = zs.iter().map(|&z| unzigzag(z)).collect();
                            let case = format!("{unary:?}, k {k}, quotients {a} and {b}, {len}");
                            assert_eq!(back, want, "{case}");
                            assert_eq!(r.remaining(), bytes.len() - stream, "{case}: past its end");
                        }
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn every_parameter_and_spike_round_trips(
            seed: u64,
            len in 0usize..700,
            bits in 1u32..40,
            spike_every in 2usize..200,
            spike_bits in 0u32..64,
        ) {
            round_trip(&noisy(seed, len, bits, spike_every, spike_bits));
        }

        #[test]
        fn a_stream_cut_short_is_an_error(
            seed: u64,
            len in 1usize..300,
            bits in 1u32..30,
            cut in 1usize..64,
        ) {
            let values = noisy(seed, len, bits, 37, 9);
            for unary in BOTH {
                let mut buf = vec![0u8; values.len() * 13 + 16];
                let mut w = ByteWriter::new(&mut buf);
                encode_as(&values, unary, &mut w).unwrap();
                let len = w.position();
                let cut = cut.min(len);
                let mut back = vec![0i64; values.len()];
                let mut r = ByteReader::new(&buf[..len - cut]);
                proptest::prop_assert!(decode(&mut r, &mut back, unary).is_err());
            }
        }
    }

    #[test]
    fn hostile_streams_are_errors() {
        for (unary, run) in [(Unary::Zeros, 0x00), (Unary::Ones, 0xff)] {
            let fails = |bytes: &[u8], values: usize| {
                let mut r = ByteReader::new(bytes);
                decode(&mut r, &mut vec![0; values], unary).is_err()
            };
            // k over 63.
            assert!(fails(&[64, 0], 3), "{unary:?}");
            // A run to the end of the stream, short of an escape.
            assert!(fails(&[0, run, run], 1), "{unary:?}");
            // An escape without its value.
            assert!(fails(&[0, run, run, run, run, 0x01], 1), "{unary:?}");
            // No stream at all.
            assert!(fails(&[3], 2), "{unary:?}");
        }
    }
}
