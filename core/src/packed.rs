//! A packed binary form for the bulk of a snapshot: the chat messages and the
//! client session records. Varints written and read by a tight loop, numbers
//! that run in order stored as differences. Through serde's generic path
//! (postcard) these records cost about 200 instructions each, and snapshots were
//! a sixth of the load benchmark.
//!
//! Types that use it serialize as bytes in binary formats
//! (`!is_human_readable()`) and keep their readable form in JSON.

use serde::{Deserialize, Deserializer, Serializer};

/// Writes varints and strings into a byte buffer.
#[derive(Default)]
pub struct Packer(Vec<u8>);

impl Packer {
    /// LEB128: seven bits a byte, low bits first.
    #[inline]
    pub fn u64(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    /// `v - prev`, as a zigzag varint: small either way, exact for every pair
    /// of `u64`s (wrapping arithmetic both ways).
    #[inline]
    pub fn delta(&mut self, v: u64, prev: u64) {
        let d = v.wrapping_sub(prev) as i64;
        self.u64(((d << 1) ^ (d >> 63)) as u64);
    }

    pub fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
}

/// Reads what a [`Packer`] wrote; every read checks the bytes left.
pub struct Unpacker<'a> {
    bytes: &'a [u8],
}

impl<'a> Unpacker<'a> {
    pub fn u64(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.bytes.split_first().ok_or("the data ends early")?;
            self.bytes = rest;
            if shift == 63 && b > 1 {
                return Err("a number is too large".into());
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err("a number is too long".into())
    }

    /// The inverse of [`Packer::delta`]: `prev` plus the stored difference.
    pub fn delta(&mut self, prev: u64) -> Result<u64, String> {
        let z = self.u64()?;
        let d = ((z >> 1) as i64) ^ -((z & 1) as i64);
        Ok(prev.wrapping_add(d as u64))
    }

    pub fn str(&mut self) -> Result<&'a str, String> {
        let len = self.u64()?;
        let len = usize::try_from(len)
            .ok()
            .filter(|&n| n <= self.bytes.len())
            .ok_or("a text is longer than the data left")?;
        let (s, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        std::str::from_utf8(s).map_err(|_| "a text is not UTF-8".to_string())
    }

    /// A count of records still to read, each at least `min_bytes` long:
    /// checked against the bytes left, so a damaged count cannot reserve
    /// memory the data does not hold.
    pub fn count(&mut self, min_bytes: usize) -> Result<usize, String> {
        let n = self.u64()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n.saturating_mul(min_bytes) <= self.bytes.len())
            .ok_or_else(|| format!("{n} records cannot fit in the data left"))
    }
}

/// Serializes what `pack` writes as one byte string (of about
/// `capacity_bytes`: room is made for it at once).
pub fn serialize<S: Serializer>(
    s: S,
    capacity_bytes: usize,
    pack: impl FnOnce(&mut Packer),
) -> Result<S::Ok, S::Error> {
    let mut p = Packer(Vec::with_capacity(capacity_bytes));
    pack(&mut p);
    s.serialize_bytes(&p.0)
}

/// Reads a byte string written by [`serialize`] with `unpack`, which must
/// consume all of it.
pub fn deserialize<'de, D: Deserializer<'de>, T>(
    d: D,
    unpack: impl FnOnce(&mut Unpacker<'de>) -> Result<T, String>,
) -> Result<T, D::Error> {
    let bytes = <&'de [u8]>::deserialize(d)?;
    let mut u = Unpacker { bytes };
    let value = unpack(&mut u).map_err(serde::de::Error::custom)?;
    if !u.bytes.is_empty() {
        return Err(serde::de::Error::custom(
            "unexpected bytes after the records",
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unpacker(bytes: &[u8]) -> Unpacker<'_> {
        Unpacker { bytes }
    }

    #[test]
    fn numbers_differences_and_texts_read_back() {
        let mut p = Packer::default();
        let values = [0, 1, 127, 128, 300, u64::MAX / 3, u64::MAX];
        for v in values {
            p.u64(v);
        }
        for (v, prev) in [(5, 9), (9, 5), (0, u64::MAX), (u64::MAX, 0), (7, 7)] {
            p.delta(v, prev);
        }
        p.str("héllo");
        let mut u = unpacker(&p.0);
        for v in values {
            assert_eq!(u.u64().unwrap(), v);
        }
        for (v, prev) in [(5, 9), (9, 5), (0, u64::MAX), (u64::MAX, 0), (7, 7)] {
            assert_eq!(u.delta(prev).unwrap(), v);
        }
        assert_eq!(u.str().unwrap(), "héllo");
        assert!(u.bytes.is_empty());
    }

    #[test]
    fn damaged_data_is_an_error_not_a_panic() {
        assert!(unpacker(&[0x80]).u64().is_err());
        assert!(unpacker(&[0xff; 11]).u64().is_err());
        assert!(
            unpacker(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])
                .u64()
                .is_err()
        );
        assert!(unpacker(&[5, b'a']).str().is_err());
        assert!(unpacker(&[2, 0xc3, 0x28]).str().is_err());
        assert!(unpacker(&[0xff, 0xff, 0xff, 0xff, 0x0f]).count(1).is_err());
        assert_eq!(unpacker(&[2, 0, 0]).count(1), Ok(2));
    }
}
