//! Format-preserving encryption with FF1 (NIST SP 800-38G, the `fpe` crate, AES-256). A value
//! is split into character classes (digits, and with `alphanumeric` lower- and upper-case
//! letters); each class's characters, minus a kept prefix and suffix, are encrypted as one
//! numeral string under the column's tweak, and every other character stays where it is, so
//! length, separators and the class of every position survive. With `luhn`, the result is
//! cycle-walked (encrypted again until the Luhn digit is valid), which keeps FF1 a permutation
//! of the valid card numbers. FF1 refuses domains under 10^6 (6 digits, 5 letters): such values
//! are an error that says so, never passed through.

use aes::Aes256;
use fpe::ff1::{FF1, FlexibleNumeralString};

use super::rules::Alphabet;
use super::scan::luhn_valid;

/// A compiled FF1 rule.
pub struct Ff1 {
    digits: FF1<Aes256>,
    letters: FF1<Aes256>,
    tweak: Vec<u8>,
    alphabet: Alphabet,
    keep_prefix: usize,
    keep_suffix: usize,
    luhn: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Digit,
    Lower,
    Upper,
}

fn class_of(c: char, alphabet: Alphabet) -> Option<Class> {
    match c {
        '0'..='9' => Some(Class::Digit),
        'a'..='z' if alphabet == Alphabet::Alphanumeric => Some(Class::Lower),
        'A'..='Z' if alphabet == Alphabet::Alphanumeric => Some(Class::Upper),
        _ => None,
    }
}

const MAX_WALK: usize = 10_000;

impl Ff1 {
    /// FF1 under a 32-byte key with the domain as tweak.
    pub fn new(
        key: &[u8; 32],
        domain: &str,
        alphabet: Alphabet,
        keep_prefix: usize,
        keep_suffix: usize,
        luhn: bool,
    ) -> Ff1 {
        Ff1 {
            digits: FF1::new(key, 10).expect("radix 10 is valid"),
            letters: FF1::new(key, 26).expect("radix 26 is valid"),
            tweak: domain.as_bytes().to_vec(),
            alphabet,
            keep_prefix,
            keep_suffix,
            luhn,
        }
    }

    /// Encrypts (or with `decrypt`, decrypts) one value.
    pub fn apply(&self, value: &str, decrypt: bool) -> Result<String, String> {
        if self.luhn && !luhn_valid(value) {
            return Err(
                "not a valid card number (the Luhn check fails); luhn = true needs valid numbers"
                    .into(),
            );
        }
        let mut chars: Vec<char> = value.chars().collect();
        let positions: Vec<usize> = (0..chars.len())
            .filter(|&i| class_of(chars[i], self.alphabet).is_some())
            .collect();
        if positions.len() < self.keep_prefix + self.keep_suffix {
            return Err(format!(
                "has {} characters to encrypt but keep_prefix + keep_suffix is {}",
                positions.len(),
                self.keep_prefix + self.keep_suffix
            ));
        }
        let middle = &positions[self.keep_prefix..positions.len() - self.keep_suffix];
        for _ in 0..MAX_WALK {
            for class in [Class::Digit, Class::Lower, Class::Upper] {
                self.apply_class(&mut chars, middle, class, decrypt)?;
            }
            if !self.luhn || luhn_valid(&chars.iter().collect::<String>()) {
                return Ok(chars.into_iter().collect());
            }
        }
        Err("cycle-walking did not reach a valid Luhn digit".into())
    }

    fn apply_class(
        &self,
        chars: &mut [char],
        middle: &[usize],
        class: Class,
        decrypt: bool,
    ) -> Result<(), String> {
        let at: Vec<usize> = middle
            .iter()
            .copied()
            .filter(|&i| class_of(chars[i], self.alphabet) == Some(class))
            .collect();
        if at.is_empty() {
            return Ok(());
        }
        let (ff1, radix, base) = match class {
            Class::Digit => (&self.digits, 10u64, b'0'),
            Class::Lower => (&self.letters, 26, b'a'),
            Class::Upper => (&self.letters, 26, b'A'),
        };
        let domain = radix.checked_pow(at.len() as u32).unwrap_or(u64::MAX);
        if domain < 1_000_000 {
            let need = if radix == 10 { 6 } else { 5 };
            return Err(format!(
                "has {} {} to encrypt; FF1 needs radix^length of at least 1,000,000 (at least {need}) — keep fewer characters, or use hmac_token or generalize for short values",
                at.len(),
                if radix == 10 { "digits" } else { "letters" }
            ));
        }
        let numerals: Vec<u16> = at.iter().map(|&i| (chars[i] as u8 - base) as u16).collect();
        let mut tweak = self.tweak.clone();
        tweak.push(base);
        let ns = FlexibleNumeralString::from(numerals);
        let out = if decrypt {
            ff1.decrypt(&tweak, &ns)
        } else {
            ff1.encrypt(&tweak, &ns)
        }
        .map_err(|e| e.to_string())?;
        for (&i, n) in at.iter().zip(Vec::<u16>::from(out)) {
            chars[i] = (base + n as u8) as char;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numerals(s: &str) -> FlexibleNumeralString {
        FlexibleNumeralString::from(s.bytes().map(|b| (b - b'0') as u16).collect::<Vec<_>>())
    }

    /// NIST SP 800-38G FF1 samples 7 and 8 (AES-256, radix 10), through the crate we wrap.
    #[test]
    fn nist_samples() {
        let key = hex::decode("2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F7F036D6F04FC6A94")
            .unwrap();
        let ff1 = FF1::<Aes256>::new(&key, 10).unwrap();
        let out: Vec<u16> = ff1.encrypt(&[], &numerals("0123456789")).unwrap().into();
        assert_eq!(out, [6, 6, 5, 7, 6, 6, 7, 0, 0, 9]);
        let tweak = hex::decode("39383736353433323130").unwrap();
        let out: Vec<u16> = ff1.encrypt(&tweak, &numerals("0123456789")).unwrap().into();
        assert_eq!(out, [1, 0, 0, 1, 6, 2, 3, 4, 6, 3]);
    }

    #[test]
    fn keeps_the_format_and_reverses() {
        let f = Ff1::new(&[9; 32], "card", Alphabet::Digits, 6, 4, true);
        let card = "4111-1111-1111-1111";
        let out = f.apply(card, false).unwrap();
        assert_ne!(out, card);
        assert!(out.starts_with("4111-11") && out.ends_with("1111") && luhn_valid(&out));
        assert_eq!(out.len(), card.len());
        assert_eq!(f.apply(&out, true).unwrap(), card);
        let short = Ff1::new(&[9; 32], "zip", Alphabet::Digits, 0, 0, false);
        assert!(
            short
                .apply("94107", false)
                .unwrap_err()
                .contains("1,000,000")
        );
        let mixed = Ff1::new(&[9; 32], "id", Alphabet::Alphanumeric, 0, 0, false);
        let out = mixed.apply("AB-cdefg-123456", false).unwrap_err();
        assert!(out.contains("letters"), "{out}");
        let out = mixed.apply("ABCDE-fghij-123456", false).unwrap();
        assert!(out.as_bytes()[..5].iter().all(u8::is_ascii_uppercase));
        assert_eq!(mixed.apply(&out, true).unwrap(), "ABCDE-fghij-123456");
    }
}
