//! Deterministic synthetic data (ChaCha20 seeded, so the same seed gives the same bytes on
//! every platform and version of this module). Values look real to detectors but belong to
//! ranges reserved for fiction or testing: phones `NPA-555-01xx`, mail at `example.com`,
//! SSNs in area 9xx with group 01–49 (never issued, outside the ITIN groups), card numbers on
//! test BINs with a valid Luhn digit, IPs in the RFC 5737 documentation ranges. Tables:
//! `customers` (with quasi-identifiers that k-anonymity can be reached on, a few planted
//! outliers, and a free-text `notes` column that repeats the row's PII), `orders` (joins to
//! `customers` by `customer_id` and `customer_email`) and `users` (plaintext passwords).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::scan::luhn_sum;

/// The tables this module makes.
pub const TABLES: &[&str] = &["customers", "orders", "users"];

const FIRST: &[&str] = &[
    "Ana", "Bo", "Chen", "Dara", "Eli", "Femi", "Gita", "Hugo", "Ines", "Jon", "Kemal", "Lea",
    "Mara", "Nils", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Viktor", "Wen",
    "Yara",
];
const LAST: &[&str] = &[
    "Silva", "Berg", "Wong", "Okafor", "Novak", "Haddad", "Rossi", "Tanaka", "Dubois", "Khan",
    "Meyer", "Costa", "Ivanova", "Nakamura", "Mensah", "Larsen",
];
/// ZIP codes in three prefixes, with their city.
const ZIPS: &[(&str, &str)] = &[
    ("94107", "San Francisco"),
    ("94110", "San Francisco"),
    ("94117", "San Francisco"),
    ("94121", "San Francisco"),
    ("10001", "New York"),
    ("10011", "New York"),
    ("10025", "New York"),
    ("10027", "New York"),
    ("60601", "Chicago"),
    ("60614", "Chicago"),
    ("60622", "Chicago"),
    ("60657", "Chicago"),
];
const NPAS: &[&str] = &["212", "312", "415", "646", "773", "628"];
const DIAGNOSES: &[&str] = &[
    "asthma",
    "diabetes",
    "flu",
    "migraine",
    "hypertension",
    "none",
];
const PASSWORDS: &[&str] = &[
    "password", "123456", "qwerty", "letmein", "dragon", "sunshine", "monkey", "football",
    "iloveyou", "admin", "welcome", "princess",
];

fn rng_for(seed: u64, table: &str) -> ChaCha20Rng {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    for (i, b) in table.bytes().enumerate().take(24) {
        s[8 + i] = b;
    }
    ChaCha20Rng::from_seed(s)
}

fn pick<'a>(rng: &mut ChaCha20Rng, list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

/// A card number on a test BIN with a valid Luhn digit.
pub fn card_number(rng: &mut impl Rng) -> String {
    let bin = ["411111", "555555", "400000", "522222"][rng.random_range(0..4)];
    let mut digits: Vec<u32> = bin.chars().filter_map(|c| c.to_digit(10)).collect();
    for _ in 0..9 {
        digits.push(rng.random_range(0..10));
    }
    digits.push(0);
    let check = (10 - luhn_sum(&digits) % 10) % 10;
    *digits.last_mut().expect("sixteen digits") = check;
    digits
        .iter()
        .map(|d| char::from_digit(*d, 10).expect("a digit"))
        .collect()
}

struct Customer {
    id: String,
    name: String,
    email: String,
    phone: String,
    ssn: String,
    card: String,
    birth_date: String,
    gender: &'static str,
    zip: &'static str,
    city: &'static str,
    diagnosis: &'static str,
    spend: String,
    notes: String,
}

fn customers(seed: u64, rows: u32) -> Vec<Customer> {
    let mut rng = rng_for(seed, "customers");
    (0..rows)
        .map(|i| {
            let first = pick(&mut rng, FIRST);
            let last = pick(&mut rng, LAST);
            let email = format!(
                "{}.{}{}@example.com",
                first.to_lowercase(),
                last.to_lowercase(),
                i + 1
            );
            let phone = format!(
                "{}-555-01{:02}",
                pick(&mut rng, NPAS),
                rng.random_range(0..100)
            );
            let ssn = format!(
                "9{:02}-{:02}-{:04}",
                rng.random_range(0..100),
                rng.random_range(1..50),
                rng.random_range(1..10000)
            );
            let card = card_number(&mut rng);
            // One row in forty is an outlier (born before 1940) that generalisation alone
            // cannot hide.
            let year = if rng.random_range(0..40) == 0 {
                rng.random_range(1925..1940)
            } else {
                rng.random_range(1950..2005)
            };
            let birth_date = format!(
                "{year}-{:02}-{:02}",
                rng.random_range(1..13),
                rng.random_range(1..29)
            );
            let gender = match rng.random_range(0..100) {
                0..=1 => "X",
                2..=50 => "F",
                _ => "M",
            };
            let (zip, city) = ZIPS[rng.random_range(0..ZIPS.len())];
            let diagnosis = DIAGNOSES[rng.random_range(0..DIAGNOSES.len())];
            let spend = format!(
                "{}.{:02}",
                rng.random_range(0..5000),
                rng.random_range(0..100)
            );
            let notes = match rng.random_range(0..4) {
                0 => format!("Called from {phone} about a refund; confirmed SSN {ssn}."),
                1 => format!(
                    "Asked to charge card {} {} {} {} and mail {email}.",
                    &card[..4],
                    &card[4..8],
                    &card[8..12],
                    &card[12..]
                ),
                2 => format!(
                    "Logged in from 203.0.113.{} and updated the address.",
                    rng.random_range(1..255)
                ),
                _ => "Prefers e-mail contact.".to_string(),
            };
            Customer {
                id: format!("C{:06}", i + 1),
                name: format!("{first} {last}"),
                email,
                phone,
                ssn,
                card,
                birth_date,
                gender,
                zip,
                city,
                diagnosis,
                spend,
                notes,
            }
        })
        .collect()
}

fn csv_line(fields: &[&str]) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(fields).expect("writing to memory");
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8 fields")
}

/// A table as CSV. For `orders`, `rows` is the size of the `customers` table it joins to
/// (each customer has zero to three orders).
pub fn table(name: &str, rows: u32, seed: u64) -> Result<String, String> {
    let mut out = String::new();
    match name {
        "customers" => {
            out.push_str("customer_id,name,email,phone,ssn,card_number,birth_date,gender,zip,city,diagnosis,spend,notes\n");
            for c in customers(seed, rows) {
                out.push_str(&csv_line(&[
                    &c.id,
                    &c.name,
                    &c.email,
                    &c.phone,
                    &c.ssn,
                    &c.card,
                    &c.birth_date,
                    c.gender,
                    c.zip,
                    c.city,
                    c.diagnosis,
                    &c.spend,
                    &c.notes,
                ]));
            }
        }
        "orders" => {
            out.push_str("order_id,customer_id,customer_email,amount,ip_address,ordered_at\n");
            let mut rng = rng_for(seed, "orders");
            let mut n = 0;
            for c in customers(seed, rows) {
                for _ in 0..rng.random_range(0..4) {
                    n += 1;
                    out.push_str(&csv_line(&[
                        &format!("O{n:07}"),
                        &c.id,
                        &c.email,
                        &format!(
                            "{}.{:02}",
                            rng.random_range(1..900),
                            rng.random_range(0..100)
                        ),
                        &format!("198.51.100.{}", rng.random_range(1..255)),
                        &format!(
                            "2026-{:02}-{:02}",
                            rng.random_range(1..13),
                            rng.random_range(1..29)
                        ),
                    ]));
                }
            }
        }
        "users" => {
            out.push_str("user_id,username,password\n");
            let mut rng = rng_for(seed, "users");
            for i in 0..rows {
                let password = format!("{}{}", pick(&mut rng, PASSWORDS), rng.random_range(0..100));
                out.push_str(&csv_line(&[
                    &format!("U{:05}", i + 1),
                    &format!("{}{}", pick(&mut rng, FIRST).to_lowercase(), i + 1),
                    &password,
                ]));
            }
        }
        other => {
            return Err(format!(
                "there is no table '{other}'; the tables are: {}",
                TABLES.join(", ")
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::luhn_valid;

    #[test]
    fn deterministic_reserved_and_joinable() {
        let a = table("customers", 50, 7).unwrap();
        assert_eq!(a, table("customers", 50, 7).unwrap());
        assert_ne!(a, table("customers", 50, 8).unwrap());
        let t = crate::stream::Table::parse(a.as_bytes(), crate::stream::Format::Csv).unwrap();
        for row in &t.rows {
            let get = |c: &str| row[t.index(c).unwrap()].clone().unwrap();
            assert!(luhn_valid(&get("card_number")));
            assert!(get("ssn").starts_with('9'));
            assert!(get("phone").contains("-555-01"));
            assert!(get("email").ends_with("@example.com"));
        }
        let orders = table("orders", 50, 7).unwrap();
        let ids: Vec<&str> = a.lines().skip(1).map(|l| &l[..7]).collect();
        assert!(orders.lines().count() > 20);
        assert!(orders.lines().skip(1).all(|l| ids.contains(&&l[9..16])));
        assert!(table("patients", 1, 1).unwrap_err().contains("customers"));
    }
}
