//! The blocking `push` and `pop` every ring offers, written once over each ring's non-blocking
//! calls: only the condition a side waits for differs from ring to ring, and that stays in the
//! ring's own file.

/// Pushes `value`, waiting while the ring is full: try, and when that fails give the value back if
/// the consumers have gone, or else wait (with the side's strategy) until `wait_for_room` returns,
/// and try again.
#[inline]
pub(crate) fn push_with<E: ?Sized, T>(
    end: &mut E,
    mut value: T,
    try_push: impl Fn(&mut E, T) -> Result<(), T>,
    consumers_gone: impl Fn(&E) -> bool,
    wait_for_room: impl Fn(&E),
) -> Result<(), T> {
    loop {
        match try_push(end, value) {
            Ok(()) => return Ok(()),
            Err(v) => value = v,
        }
        if consumers_gone(end) {
            return Err(value);
        }
        wait_for_room(end);
    }
}

/// Pops an item, waiting while the ring is empty: try, and when that fails and the producers have
/// gone, try once more (everything they pushed is visible once their leaving is, so this last try
/// sees it all) and return what it finds; or else wait until `wait_for_items` returns and try
/// again.
#[inline]
pub(crate) fn pop_with<E: ?Sized, T>(
    end: &mut E,
    try_pop: impl Fn(&mut E) -> Option<T>,
    producers_gone: impl Fn(&E) -> bool,
    wait_for_items: impl Fn(&E),
) -> Option<T> {
    loop {
        if let Some(v) = try_pop(end) {
            return Some(v);
        }
        if producers_gone(end) {
            return try_pop(end);
        }
        wait_for_items(end);
    }
}
