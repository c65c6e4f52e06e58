//! Finds sensitive entities inside free text: e-mail addresses, card numbers (Luhn-checked),
//! US SSNs (without the never-issued forms Presidio rejects), NANP phone numbers and IPv4
//! addresses. One linear-time `regex` with a group per entity, then a validator per match, as
//! Presidio's recognizers do; no NER, so names in prose are not found (the rules redact name
//! columns instead).

use regex::Regex;

use super::rules::Entity;

/// A compiled scanner.
#[derive(Debug, Clone)]
pub struct Scanner {
    regex: Regex,
    entities: Vec<Entity>,
}

const PATTERN: &str = concat!(
    r"(?P<email>[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})",
    r"|(?P<ssn>\b\d{3}-\d{2}-\d{4}\b)",
    r"|(?P<card>\b\d(?:[ -]?\d){12,18}\b)",
    r"|(?P<phone>(?:\+?1[ .-]?)?(?:\(\d{3}\)|\b\d{3})[ .-]?\d{3}[ .-]\d{4}\b)",
    r"|(?P<ip>\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b)",
);

/// Whether the digits of `s` pass the Luhn check.
pub fn luhn_valid(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() < 2 {
        return false;
    }
    luhn_sum(&digits).is_multiple_of(10)
}

/// The Luhn sum of digits (the last digit is the check digit).
pub fn luhn_sum(digits: &[u32]) -> u32 {
    digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum()
}

fn ssn_valid(s: &str) -> bool {
    let area = &s[0..3];
    let group = &s[4..6];
    let serial = &s[7..11];
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    !(area == "000"
        || area == "666"
        || group == "00"
        || serial == "0000"
        || digits.chars().all(|c| digits.starts_with(c))
        || digits.starts_with("123456789")
        || digits == "078051120")
}

fn ip_valid(s: &str) -> bool {
    s.split('.')
        .all(|o| o.parse::<u16>().is_ok_and(|n| n <= 255))
}

impl Scanner {
    /// A scanner for some entities (all when empty).
    pub fn new(entities: &[Entity]) -> Scanner {
        let entities = if entities.is_empty() {
            Entity::ALL.to_vec()
        } else {
            entities.to_vec()
        };
        Scanner {
            regex: Regex::new(PATTERN).expect("the entity pattern is valid"),
            entities,
        }
    }

    /// The entities found in `text`: (start, end, entity).
    pub fn find(&self, text: &str) -> Vec<(usize, usize, Entity)> {
        let mut found = Vec::new();
        for caps in self.regex.captures_iter(text) {
            let (m, entity, valid) = if let Some(m) = caps.name("email") {
                (m, Entity::EmailAddress, true)
            } else if let Some(m) = caps.name("ssn") {
                (m, Entity::UsSsn, ssn_valid(m.as_str()))
            } else if let Some(m) = caps.name("card") {
                (m, Entity::CreditCard, luhn_valid(m.as_str()))
            } else if let Some(m) = caps.name("phone") {
                (m, Entity::PhoneNumber, true)
            } else if let Some(m) = caps.name("ip") {
                (m, Entity::IpAddress, ip_valid(m.as_str()))
            } else {
                continue;
            };
            if valid && self.entities.contains(&entity) {
                found.push((m.start(), m.end(), entity));
            }
        }
        found
    }

    /// `text` with every entity found replaced by `with` (`{TYPE}` → the entity's name).
    pub fn replace(&self, text: &str, with: &str) -> String {
        let found = self.find(text);
        if found.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end, entity) in found {
            out.push_str(&text[at..start]);
            out.push_str(&with.replace("{TYPE}", entity.as_str()));
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_entities_and_validates_them() {
        let s = Scanner::new(&[]);
        let text = "Mail ana.silva@example.com, card 4111 1111 1111 1111, ssn 912-34-5678, \
                    call (212) 555-0134 from 203.0.113.9; not 4111 1111 1111 1112 nor 666-12-3456 nor 999.1.1.1";
        let out = s.replace(text, "<{TYPE}>");
        assert_eq!(
            out,
            "Mail <EMAIL_ADDRESS>, card <CREDIT_CARD>, ssn <US_SSN>, call <PHONE_NUMBER> from <IP_ADDRESS>; not 4111 1111 1111 1112 nor 666-12-3456 nor 999.1.1.1"
        );
        let only = Scanner::new(&[Entity::UsSsn]);
        assert_eq!(
            only.replace("a@b.co 912-34-5678", "#"),
            "a@b.co #".to_string()
        );
        assert!(luhn_valid("4111-1111-1111-1111") && !luhn_valid("4111111111111112"));
    }
}
