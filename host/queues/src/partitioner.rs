//! Which partition of a multicast address's log a message goes to: Kafka Java's default
//! partitioner for keyed messages, so a key lands where a Kafka producer would put it, and
//! round robin for keyless ones.

/// Kafka's `Utils.murmur2` seed.
const SEED: u32 = 0x9747_b28c;
const M: u32 = 0x5bd1_e995;
const R: u32 = 24;

/// Kafka's `Utils.murmur2`: MurmurHash2, 32 bits, little-endian words, as Java computes it
/// (wrapping arithmetic on signed ints is the same bits as on unsigned ones).
pub fn murmur2(data: &[u8]) -> i32 {
    // Kafka hashes the length as a Java int; keys are far below 2^31 bytes.
    let mut h = SEED ^ (data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if let Some(&first) = tail.first() {
        h ^= u32::from(first);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition of a keyed message among `partitions` (at least 1): Kafka's
/// `toPositive(murmur2(key)) % numPartitions`.
pub fn for_key(key: &[u8], partitions: u32) -> u32 {
    let positive = (murmur2(key) & 0x7fff_ffff) as u32;
    positive % partitions.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's own vectors (`UtilsTest.testMurmur2`).
    #[test]
    fn murmur2_matches_kafka() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (key, want) in cases {
            assert_eq!(murmur2(key), want, "{}", String::from_utf8_lossy(key));
        }
    }

    #[test]
    fn a_key_always_lands_in_range() {
        for n in 1..10 {
            for key in [&b""[..], b"a", b"orders-17", &[0xff; 33]] {
                assert!(for_key(key, n) < n);
            }
        }
        assert_eq!(for_key(b"x", 0), 0);
    }
}
