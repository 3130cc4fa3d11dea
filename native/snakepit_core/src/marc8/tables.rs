//! Lookup tables generated at build time (build.rs) from data/marc8/marc8.tsv, plus the
//! small amount of code that names the character sets.

include!(concat!(env!("OUT_DIR"), "/marc8_tables.rs"));

/// Bit set in a table entry when the character is a combining mark.
pub(crate) const COMBINING: u32 = 1 << 31;
/// Mask of the Unicode scalar value in a table entry.
const SCALAR: u32 = 0x1F_FFFF;

/// A graphic character set that can be designated into G0 or G1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Charset {
    /// A 94-character single-byte set: index into [`SINGLE_SETS`].
    Single(u8),
    /// East Asian Character Code: three bytes per character.
    Eacc,
}

const fn single_index(final_byte: u8) -> u8 {
    let mut i = 0;
    while i < SINGLE_FINALS.len() {
        if SINGLE_FINALS[i] == final_byte {
            return i as u8;
        }
        i += 1;
    }
    panic!("final byte missing from the generated tables");
}

impl Charset {
    pub(crate) const ASCII: Charset = Charset::Single(single_index(b'B'));
    pub(crate) const ANSEL: Charset = Charset::Single(single_index(b'E'));
    pub(crate) const GREEK_SYMBOLS: Charset = Charset::Single(single_index(b'g'));
    pub(crate) const SUBSCRIPTS: Charset = Charset::Single(single_index(b'b'));
    pub(crate) const SUPERSCRIPTS: Charset = Charset::Single(single_index(b'p'));

    /// The set an escape sequence's final byte designates.
    pub(crate) fn from_final(final_byte: u8) -> Option<Charset> {
        if final_byte == b'1' {
            return Some(Charset::Eacc);
        }
        SINGLE_FINALS
            .iter()
            .position(|&f| f == final_byte)
            .map(|i| Charset::Single(i as u8))
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Charset::Single(i) => SINGLE_NAMES[i as usize],
            Charset::Eacc => "East Asian (EACC)",
        }
    }
}

/// Entry for a 7-bit code (0x21-0x7E) of a single-byte set; 0 when unmapped.
#[inline(always)]
pub(crate) fn single(set: u8, code7: u8) -> u32 {
    SINGLE_SETS[set as usize][(code7 & 0x7F) as usize]
}

/// Entry for a C1 control byte (0x80-0x9F); 0 when unmapped.
#[inline(always)]
pub(crate) fn c1(byte: u8) -> u32 {
    C1[(byte & 0x1F) as usize]
}

/// Entry for a 7-bit EACC code `b1 << 16 | b2 << 8 | b3`; 0 when unmapped.
#[inline]
pub(crate) fn eacc(code: u32) -> u32 {
    match EACC_KEYS.binary_search(&code) {
        Ok(i) => EACC_VALUES[i],
        Err(_) => 0,
    }
}

/// Splits a non-zero entry into its character and combining flag.
#[inline(always)]
pub(crate) fn entry_char(entry: u32) -> (char, bool) {
    (
        char::from_u32(entry & SCALAR).unwrap_or(char::REPLACEMENT_CHARACTER),
        entry & COMBINING != 0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_table_is_identity() {
        // The decoder copies ASCII runs without looking them up; that is only right if
        // the ASCII set maps every graphic byte to itself.
        let Charset::Single(ascii) = Charset::ASCII else {
            unreachable!()
        };
        for b in 0x21u8..=0x7E {
            assert_eq!(single(ascii, b), b as u32, "0x{b:02X}");
        }
    }

    #[test]
    fn table_sizes() {
        assert!(EACC_KEYS.len() >= 15_739);
        assert!(EACC_KEYS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Charset::from_final(b'1'), Some(Charset::Eacc));
        assert_eq!(Charset::from_final(b'Z'), None);
        assert_eq!(c1(0x88), 0x98);
        assert_eq!(c1(0x8D), 0x200D);
    }
}
