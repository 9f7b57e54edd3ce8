//! Random waits for retries ("full jitter": uniform between zero and the cap), so competing
//! workers do not retry in lockstep.

/// A random number of milliseconds in `0..=cap`.
pub fn millis(cap: u64) -> u64 {
    let random = uuid::Uuid::new_v4().as_u128() as u64;
    random % (cap + 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn stays_within_the_cap() {
        for _ in 0..1000 {
            assert!(super::millis(7) <= 7);
        }
        assert_eq!(super::millis(0), 0);
    }

    #[test]
    fn spreads_over_the_whole_range() {
        // 2000 draws of 0..=7 miss a value with probability below 1e-110.
        let mut seen = [false; 8];
        for _ in 0..2000 {
            seen[super::millis(7) as usize] = true;
        }
        assert_eq!(seen, [true; 8]);
    }
}
