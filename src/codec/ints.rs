//! How a column of integers is stored: the smallest of several forms ([`put_stream`]). The
//! values themselves, their differences, or their differences' differences (a regular clock's
//! stamps, a smooth curve); a common factor taken out (daily timestamps in seconds are multiples
//! of 86,400); then frame-of-reference bit packing ([`pack`], the fastest to decode) or Rice
//! coding ([`rice`], near the entropy of the peaked residuals real series leave). Also the plain
//! packed differences of earlier frame versions ([`get_integers`]), still read.

use super::CodecError;
use super::io::{ByteReader, ByteWriter, unzigzag, varint_len, zigzag};
use super::{pack, rice};

// A stream's form byte: the order of differencing in the low two bits, then these flags.
const ORDER_MASK: u8 = 0b11;
const FACTORED: u8 = 1 << 2;
const RICE: u8 = 1 << 3;
/// With [`RICE`]: quotients as runs of zeros ([`rice::Unary::Zeros`], what is written from frame
/// format 4 on); without it, runs of ones, as earlier formats wrote them.
const RICE_ZEROS: u8 = 1 << 4;
const MAX_ORDER: usize = 2;

/// Which forms a stream may take: any (the smallest wins, Rice-coded ones included), or only the
/// packed ones, larger but faster to decode (`decimal-fast`: see [`super::CodecId::DecimalFast`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    /// The smallest form, packed or Rice-coded.
    Smallest,
    /// The smallest packed form: no Rice coding.
    Packed,
}

/// Writes the first integer whole and packs the differences of the rest: the integer form of
/// frames from earlier versions, written now only to test that they still decode.
#[cfg(test)]
pub(crate) fn put_integers(
    ints: &[i64],
    scratch: &mut Vec<i64>,
    out: &mut ByteWriter<'_>,
) -> Result<(), CodecError> {
    let Some(&first) = ints.first() else {
        return Ok(());
    };
    out.put_varint(zigzag(first))?;
    scratch.clear();
    scratch.extend(ints.windows(2).map(|w| w[1].wrapping_sub(w[0])));
    pack::encode(scratch, out)
}

/// `ints` differenced `order` times in place: the first `order` entries are the heads the decoder
/// starts from (the first value, the first difference), the rest the residuals.
fn difference(ints: &mut [i64], order: usize) {
    for pass in 0..order {
        difference_pass(ints, pass);
    }
}

/// Pass `pass` (from 0) of [`difference`]: every entry after the first `pass + 1` less the one
/// before it.
fn difference_pass(ints: &mut [i64], pass: usize) {
    for i in (pass + 1..ints.len()).rev() {
        ints[i] = ints[i].wrapping_sub(ints[i - 1]);
    }
}

/// Bytes a stream spends before its residuals: the form byte, the heads, the factor.
fn set_up_bytes(heads: &[i64], factor: Option<u64>) -> usize {
    1 + heads.iter().map(|&h| varint_len(zigzag(h))).sum::<usize>() + factor.map_or(0, varint_len)
}

/// Multiplies the differences after the `order` heads by `factor`, then undoes [`difference`],
/// in one pass (the decoder's hot loop: one load and one store a value).
fn integrate_scaled(ints: &mut [i64], order: usize, factor: i64) {
    match (order, ints) {
        (0, ints) if factor != 1 => {
            for v in ints.iter_mut() {
                *v = v.wrapping_mul(factor);
            }
        }
        (1, [first, rest @ ..]) => {
            let mut value = *first;
            for slot in rest {
                value = value.wrapping_add(slot.wrapping_mul(factor));
                *slot = value;
            }
        }
        (2, [first, second, rest @ ..]) => {
            let mut step = *second;
            let mut value = first.wrapping_add(step);
            *second = value;
            for slot in rest {
                step = step.wrapping_add(slot.wrapping_mul(factor));
                value = value.wrapping_add(step);
                *slot = value;
            }
        }
        // No factor at order 0, or fewer values than heads (the heads are the values).
        _ => {}
    }
}

/// The largest factor all of `values` share, when it is worth taking out (2 up to `i64::MAX`).
fn common_factor(values: &[i64]) -> Option<u64> {
    let mut g = 0u64;
    for &v in values {
        let (mut a, mut b) = (g, v.unsigned_abs());
        while b != 0 {
            (a, b) = (b, a % b);
        }
        g = a;
        if g == 1 {
            return None;
        }
    }
    (g >= 2 && g <= i64::MAX as u64).then_some(g)
}

/// One way to store a column of integers, and what it costs.
#[derive(Debug, Clone, Copy)]
struct Form {
    order: usize,
    factor: Option<u64>,
    rice: bool,
    bytes: usize,
}

/// The cheapest form for `ints` that `coding` allows (ties go to lower orders and to packing,
/// which decodes faster). Packing is costed for every order; Rice coding, slower to cost, for the
/// order whose residuals are smallest in sum, which is where Rice coding (a value costs about its
/// magnitude's bits) does best. `work` is scratch space.
fn choose_form(ints: &[i64], work: &mut Vec<i64>, coding: Coding) -> Form {
    let mut best = Form {
        order: 0,
        factor: None,
        rice: false,
        bytes: usize::MAX,
    };
    let mut smallest: Option<(u128, usize)> = None;
    // One copy, differenced once more for each order in turn.
    work.clear();
    work.extend_from_slice(ints);
    for order in 0..=MAX_ORDER.min(ints.len()) {
        if order > 0 {
            difference_pass(work, order - 1);
        }
        let (heads, body) = work.split_at(order);
        let factor = common_factor(body);
        let g = factor.map_or(1, |g| g as i64);
        let form = Form {
            order,
            factor,
            rice: false,
            bytes: set_up_bytes(heads, factor) + pack::encoded_len_divided(body, g),
        };
        if form.bytes < best.bytes {
            best = form;
        }
        let sum: u128 = body.iter().map(|&v| u128::from(zigzag(v / g))).sum();
        if smallest.is_none_or(|(least, _)| sum < least) {
            smallest = Some((sum, order));
        }
    }
    if let Some((_, order)) = smallest.filter(|_| coding == Coding::Smallest) {
        let (fixed, factor) = residuals(ints, order, work);
        let bytes = fixed + rice::encoded_len(&work[order..]);
        if bytes < best.bytes {
            best = Form {
                order,
                factor,
                rice: true,
                bytes,
            };
        }
    }
    if best.bytes == usize::MAX {
        best.bytes = 1;
    }
    best
}

/// `ints` differenced `order` times into `work`, the residuals divided by their common factor:
/// the bytes the form byte, heads and factor take, and the factor.
fn residuals(ints: &[i64], order: usize, work: &mut Vec<i64>) -> (usize, Option<u64>) {
    work.clear();
    work.extend_from_slice(ints);
    difference(work, order);
    let (heads, body) = work.split_at_mut(order.min(ints.len()));
    let factor = common_factor(body);
    if let Some(g) = factor {
        for v in body.iter_mut() {
            *v /= g as i64;
        }
    }
    (set_up_bytes(heads, factor), factor)
}

/// Writes `ints` in the cheapest [`Form`] `coding` allows: the form byte, the heads, the factor,
/// the residuals.
pub(crate) fn put_stream(
    ints: &[i64],
    work: &mut Vec<i64>,
    coding: Coding,
    out: &mut ByteWriter<'_>,
) -> Result<(), CodecError> {
    let form = choose_form(ints, work, coding);
    residuals(ints, form.order, work);
    let (heads, body) = work.split_at(form.order.min(ints.len()));
    let mut flags = form.order as u8;
    if form.factor.is_some() {
        flags |= FACTORED;
    }
    if form.rice {
        flags |= RICE | RICE_ZEROS;
    }
    out.put_u8(flags)?;
    for &h in heads {
        out.put_varint(zigzag(h))?;
    }
    if let Some(g) = form.factor {
        out.put_varint(g)?;
    }
    if form.rice {
        rice::encode(body, out)
    } else {
        pack::encode(body, out)
    }
}

/// Reads what [`put_stream`] wrote into `ints` (whose length says how many).
#[cfg(test)]
pub(crate) fn get_stream(input: &mut ByteReader<'_>, ints: &mut [i64]) -> Result<(), CodecError> {
    get_residuals(input, ints)?.finish(ints);
    Ok(())
}

/// Reads what [`put_stream`] wrote into `ints` (whose length says how many) as it was written,
/// the heads and the residuals: [`Integration::finish`] or [`Integration::finish_into`] turns
/// them into the integers.
pub(crate) fn get_residuals(
    input: &mut ByteReader<'_>,
    ints: &mut [i64],
) -> Result<Integration, CodecError> {
    let flags = input.u8()?;
    if flags & !(ORDER_MASK | FACTORED | RICE | RICE_ZEROS) != 0
        || flags & (RICE | RICE_ZEROS) == RICE_ZEROS
    {
        return Err(CodecError::Corrupt("unknown integer stream form"));
    }
    let order = usize::from(flags & ORDER_MASK);
    if order > MAX_ORDER {
        return Err(CodecError::Corrupt("differencing order over 2"));
    }
    let (heads, body) = ints.split_at_mut(order.min(ints.len()));
    for h in heads.iter_mut() {
        *h = unzigzag(input.varint()?);
    }
    let factor = if flags & FACTORED != 0 {
        let g = input.varint()?;
        if !(2..=i64::MAX as u64).contains(&g) {
            return Err(CodecError::Corrupt("common factor out of range"));
        }
        g as i64
    } else {
        1
    };
    if flags & RICE != 0 {
        let unary = if flags & RICE_ZEROS != 0 {
            rice::Unary::Zeros
        } else {
            rice::Unary::Ones
        };
        rice::decode(input, body, unary)?;
    } else {
        pack::decode(input, body)?;
    }
    Ok(Integration { order, factor })
}

/// What turns a stream's heads and residuals back into its integers: the order of differencing
/// to undo and the factor to put back.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Integration {
    order: usize,
    factor: i64,
}

impl Integration {
    /// Integers that are already whole: nothing to undo.
    pub(crate) const DONE: Integration = Integration {
        order: 0,
        factor: 1,
    };

    /// Turns `ints` into the integers, in place.
    pub(crate) fn finish(self, ints: &mut [i64]) {
        integrate_scaled(ints, self.order, self.factor);
    }

    /// [`Integration::finish`], also writing `word(n)` for each integer `n` into `words` (as
    /// long as `ints`) in the same pass, two at a time: for a `word` as slow as a division,
    /// whose throughput then hides the carried sum's one cycle a value (the compiler divides
    /// each pair in one vector instruction). For a cheap `word`, [`Integration::finish`] and a
    /// loop of its own are faster: the sum's loop is tighter alone.
    #[inline]
    pub(crate) fn finish_into(
        self,
        ints: &mut [i64],
        words: &mut [u64],
        word: impl Fn(i64) -> u64,
    ) {
        let len = ints.len().min(words.len());
        let (ints, words) = (&mut ints[..len], &mut words[..len]);
        if self.order == 0 {
            // No carried sum to overlap: the factor (if any) in place, then a plain loop.
            self.finish(ints);
            for (slot, &n) in words.iter_mut().zip(ints.iter()) {
                *slot = word(n);
            }
            return;
        }
        let heads = self.order.min(len);
        let factor = self.factor;
        // The second head of order 2 is the first step, not an integer: taken before the
        // heads are finished.
        let mut step = ints.get(1).copied().unwrap_or(0);
        integrate_scaled(&mut ints[..heads], self.order, factor);
        for (slot, &n) in words.iter_mut().zip(&ints[..heads]) {
            *slot = word(n);
        }
        let mut value = ints[..heads].last().copied().unwrap_or(0);
        let (ints, words) = (&mut ints[heads..], &mut words[heads..]);
        match self.order {
            1 => each_pair(
                ints,
                words,
                |r| {
                    value = value.wrapping_add(r.wrapping_mul(factor));
                    value
                },
                &word,
            ),
            _ => each_pair(
                ints,
                words,
                |r| {
                    step = step.wrapping_add(r.wrapping_mul(factor));
                    value = value.wrapping_add(step);
                    value
                },
                &word,
            ),
        }
    }
}

/// Replaces each of `ints` with `next(it)`, in order, and writes `word` of the result into
/// `words`, two at a time.
#[inline(always)]
fn each_pair(
    ints: &mut [i64],
    words: &mut [u64],
    mut next: impl FnMut(i64) -> i64,
    word: &impl Fn(i64) -> u64,
) {
    let len = ints.len().min(words.len());
    let (ints, words) = (&mut ints[..len], &mut words[..len]);
    let mut i = 0;
    while i + 1 < len {
        let a = next(ints[i]);
        let b = next(ints[i + 1]);
        (ints[i], ints[i + 1]) = (a, b);
        (words[i], words[i + 1]) = (word(a), word(b));
        i += 2;
    }
    if i < len {
        ints[i] = next(ints[i]);
        words[i] = word(ints[i]);
    }
}

/// Reads what [`put_integers`] wrote into `ints` (whose length says how many).
pub(crate) fn get_integers(input: &mut ByteReader<'_>, ints: &mut [i64]) -> Result<(), CodecError> {
    let Some((first, rest)) = ints.split_first_mut() else {
        return Ok(());
    };
    *first = unzigzag(input.varint()?);
    pack::decode(input, rest)?;
    let mut prev = *first;
    for slot in rest {
        prev = prev.wrapping_add(*slot);
        *slot = prev;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_round_trip(ints: &[i64]) -> (Form, usize) {
        coded_round_trip(ints, Coding::Smallest)
    }

    fn coded_round_trip(ints: &[i64], coding: Coding) -> (Form, usize) {
        let mut work = Vec::new();
        let form = choose_form(ints, &mut work, coding);
        let mut buf = vec![0u8; 16 * ints.len() + 64];
        let mut out = ByteWriter::new(&mut buf);
        put_stream(ints, &mut work, coding, &mut out).unwrap();
        let len = out.position();
        assert_eq!(len, form.bytes, "the cost chosen by is the cost written");
        let mut input = ByteReader::new(&buf[..len]);
        let mut back = vec![0; ints.len()];
        get_stream(&mut input, &mut back).unwrap();
        input.finish().unwrap();
        assert_eq!(back, ints);
        (form, len)
    }

    #[test]
    fn rice_streams_of_either_run_form_decode_and_a_stray_flag_is_refused() {
        let values: Vec<i64> = (0..300).map(|i| (i * 7919 % 23) - 11).collect();
        for (flags, unary) in [
            (RICE | RICE_ZEROS, rice::Unary::Zeros),
            (RICE, rice::Unary::Ones),
        ] {
            let mut buf = vec![0u8; 4096];
            let mut out = ByteWriter::new(&mut buf);
            out.put_u8(flags).unwrap();
            rice::encode_as(&values, unary, &mut out).unwrap();
            let len = out.position();
            let mut back = vec![0; values.len()];
            get_stream(&mut ByteReader::new(&buf[..len]), &mut back).unwrap();
            assert_eq!(back, values, "{unary:?}");
        }
        // What `put_stream` writes when it Rice-codes: the zeros form, flagged.
        let mut work = Vec::new();
        let mut buf = vec![0u8; 4096];
        let mut out = ByteWriter::new(&mut buf);
        put_stream(&values, &mut work, Coding::Smallest, &mut out).unwrap();
        assert_eq!(
            buf[0] & (RICE | RICE_ZEROS),
            RICE | RICE_ZEROS,
            "{:#b}",
            buf[0]
        );
        // The zeros flag alone, with packed values, is no known form.
        let mut back = vec![0; 1];
        let err = get_stream(&mut ByteReader::new(&[RICE_ZEROS, 0, 0]), &mut back);
        assert_eq!(err, Err(CodecError::Corrupt("unknown integer stream form")));
    }

    #[test]
    fn integrating_undoes_differencing_in_every_order_with_a_factor() {
        let values: Vec<i64> = vec![7, -3, 12, 12, 40, i64::MAX, i64::MIN, 5, 0];
        for len in 0..=values.len() {
            for order in 0..=MAX_ORDER {
                for factor in [1i64, 3, -2] {
                    let mut ints = values[..len].to_vec();
                    difference(&mut ints, order);
                    // What the encoder leaves after taking the factor out of the residuals.
                    let heads = order.min(len);
                    let mut residuals = ints.clone();
                    for r in &mut residuals[heads..] {
                        *r = r.wrapping_mul(factor);
                    }
                    let mut expected = residuals.clone();
                    for pass in (0..order).rev() {
                        for i in pass + 1..expected.len() {
                            expected[i] = expected[i].wrapping_add(expected[i - 1]);
                        }
                    }
                    let mut back = ints.clone();
                    integrate_scaled(&mut back, order, factor);
                    assert_eq!(back, expected, "len {len} order {order} factor {factor}");
                    // The fused pass: the same integers, and each one's word beside it.
                    let mut fused = ints.clone();
                    let mut words = vec![0u64; len];
                    let word = |n: i64| (n as u64).rotate_left(7) ^ 0x5555;
                    Integration { order, factor }.finish_into(&mut fused, &mut words, word);
                    assert_eq!(
                        fused, expected,
                        "fused: len {len} order {order} factor {factor}"
                    );
                    let expected_words: Vec<u64> = expected.iter().map(|&n| word(n)).collect();
                    assert_eq!(
                        words, expected_words,
                        "len {len} order {order} factor {factor}"
                    );
                    if factor == 1 {
                        assert_eq!(back, values[..len], "len {len} order {order}");
                    }
                }
            }
        }
    }

    #[test]
    fn each_column_gets_the_form_that_suits_it() {
        // Daily timestamps: constant steps of 86,400 s, so second differences are all zero.
        let days: Vec<i64> = (0..500).map(|d| 1_262_304_000 + 86_400 * d).collect();
        let (form, len) = stream_round_trip(&days);
        assert!(form.order >= 1 && len < 30, "{form:?} {len}");
        // Month starts: steps of 28 to 31 days; the factor 86,400 comes out.
        let mut month = 1_136_073_600i64;
        let months: Vec<i64> = (0..120)
            .map(|m| {
                let now = month;
                month += 86_400 * [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m % 12];
                now
            })
            .collect();
        let (form, len) = stream_round_trip(&months);
        assert_eq!(form.factor, Some(86_400), "{form:?}");
        assert!(len < 120 / 2, "{len} bytes for 120 month starts");
        // Noise around a level: no differencing.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let level: Vec<i64> = (0..1000)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                5000 + (state >> 60) as i64 - 8
            })
            .collect();
        assert_eq!(stream_round_trip(&level).0.order, 0);
        // A random walk with rare jumps: differences, Rice-coded.
        let mut x = 0i64;
        let walk: Vec<i64> = (0..1000)
            .map(|i| {
                x += if i % 97 == 0 { 5000 } else { (i * 31 % 5) - 2 };
                x
            })
            .collect();
        let (form, smallest) = stream_round_trip(&walk);
        assert!(form.order == 1 && form.rice, "{form:?}");
        // Packed only: the same order, no Rice, and more bytes for it.
        let (form, packed) = coded_round_trip(&walk, Coding::Packed);
        assert!(form.order == 1 && !form.rice, "{form:?}");
        assert!(packed > smallest, "{packed} packed against {smallest}");
        for awkward in [
            &[][..],
            &[7],
            &[i64::MIN, i64::MAX],
            &[i64::MAX, i64::MIN, 0, -1],
        ] {
            stream_round_trip(awkward);
        }
    }
}
