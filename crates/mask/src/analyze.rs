//! Re-identification risk and utility of a released table, as ARX and Google's risk jobs
//! measure them: equivalence classes over the quasi-identifiers, k (the smallest class),
//! distinct l-diversity of a sensitive column, suppression, prosecutor and average risk,
//! sample uniques, and two utility measures that keep "suppress everything" from looking
//! good — discernibility (`Σ|E|² + suppressed·n`) and the normalised average class size
//! (`(kept / classes) / k`, 1.0 is the best a k-anonymous table can do). No crate measures
//! these, and they are a few group-bys, hence our own.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::MaskError;
use super::stream::Table;

/// The measures of one table.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// The quasi-identifiers.
    pub quasi_identifiers: Vec<String>,
    /// Rows in the table.
    pub rows: usize,
    /// Rows whose quasi-identifiers are all suppressed (`*` or empty).
    pub suppressed: usize,
    /// Suppressed rows over all rows.
    pub suppression_rate: f64,
    /// Equivalence classes among the kept rows.
    pub classes: usize,
    /// The smallest class (k).
    pub k: usize,
    /// Distinct sensitive values in the least diverse class.
    pub l: Option<usize>,
    /// 1 / k: the highest chance a prosecutor picks the right row.
    pub prosecutor_risk: f64,
    /// Classes / kept rows: the average risk.
    pub average_risk: f64,
    /// Kept rows alone in their class, over kept rows.
    pub sample_uniques: f64,
    /// Σ|E|² + suppressed · rows.
    pub discernibility: u64,
    /// (kept / classes) / k for the k asked for (or the k reached).
    pub normalized_aecs: f64,
    /// Class sizes and how many classes have each, smallest first.
    pub histogram: Vec<(usize, usize)>,
}

/// A class's size and its distinct sensitive values.
type Class<'a> = (usize, HashSet<Option<&'a str>>);

fn is_suppressed(v: Option<&str>) -> bool {
    matches!(v, None | Some("") | Some("*"))
        || v.is_some_and(|s| !s.is_empty() && s.chars().all(|c| c == '*'))
}

/// Measures `table` over the quasi-identifiers; `sensitive` adds l-diversity, `k_target`
/// normalises the average class size (default: the k reached).
pub fn analyze(
    table: &Table,
    quasi_identifiers: &[String],
    sensitive: Option<&str>,
    k_target: Option<usize>,
) -> Result<Analysis, MaskError> {
    let missing = |c: &str| {
        MaskError::Io(format!(
            "column '{c}' is not in the table; its columns are: {}",
            table.columns.join(", ")
        ))
    };
    let idx: Vec<usize> = quasi_identifiers
        .iter()
        .map(|q| table.index(q).ok_or_else(|| missing(q)))
        .collect::<Result<_, _>>()?;
    if idx.is_empty() {
        return Err(MaskError::Io(
            "name at least one quasi-identifier (--qi a,b,c)".into(),
        ));
    }
    let s_idx = sensitive
        .map(|s| table.index(s).ok_or_else(|| missing(s)))
        .transpose()?;
    let rows = table.rows.len();
    let mut classes: HashMap<Vec<Option<&str>>, Class<'_>> = HashMap::new();
    let mut suppressed = 0;
    for row in &table.rows {
        let key: Vec<Option<&str>> = idx.iter().map(|&i| row[i].as_deref()).collect();
        if key.iter().all(|v| is_suppressed(*v)) {
            suppressed += 1;
            continue;
        }
        let entry = classes.entry(key).or_default();
        entry.0 += 1;
        if let Some(s) = s_idx {
            entry.1.insert(row[s].as_deref());
        }
    }
    let kept = rows - suppressed;
    let k = classes.values().map(|c| c.0).min().unwrap_or(0);
    let mut histogram: HashMap<usize, usize> = HashMap::new();
    for (size, _) in classes.values() {
        *histogram.entry(*size).or_default() += 1;
    }
    let mut histogram: Vec<(usize, usize)> = histogram.into_iter().collect();
    histogram.sort();
    let n_classes = classes.len();
    let ratio = |a: f64, b: f64| if b == 0.0 { 0.0 } else { a / b };
    let uniques = classes.values().filter(|c| c.0 == 1).count();
    let target = k_target.unwrap_or(k).max(1);
    Ok(Analysis {
        quasi_identifiers: quasi_identifiers.to_vec(),
        rows,
        suppressed,
        suppression_rate: ratio(suppressed as f64, rows as f64),
        classes: n_classes,
        k,
        l: s_idx.map(|_| classes.values().map(|c| c.1.len()).min().unwrap_or(0)),
        prosecutor_risk: ratio(1.0, k as f64),
        average_risk: ratio(n_classes as f64, kept as f64),
        sample_uniques: ratio(uniques as f64, kept as f64),
        discernibility: classes.values().map(|c| (c.0 * c.0) as u64).sum::<u64>()
            + (suppressed * rows) as u64,
        normalized_aecs: ratio(ratio(kept as f64, n_classes as f64), target as f64),
        histogram,
    })
}

impl Analysis {
    /// A report for people.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "quasi-identifiers: {}\nrows: {}  suppressed: {} ({:.1}%)  classes: {}\n\
             k-anonymity: k = {}  (prosecutor risk {:.3}, average risk {:.3}, sample uniques {:.1}%)\n",
            self.quasi_identifiers.join(", "),
            self.rows,
            self.suppressed,
            self.suppression_rate * 100.0,
            self.classes,
            self.k,
            self.prosecutor_risk,
            self.average_risk,
            self.sample_uniques * 100.0
        );
        if let Some(l) = self.l {
            out.push_str(&format!("distinct l-diversity: l = {l}\n"));
        }
        out.push_str(&format!(
            "utility: discernibility {}  normalised average class size {:.2} (1.00 is the best for this k)\n",
            self.discernibility, self.normalized_aecs
        ));
        out.push_str("class sizes (size × classes):");
        for (size, count) in self.histogram.iter().take(12) {
            out.push_str(&format!(" {size}×{count}"));
        }
        if self.histogram.len() > 12 {
            out.push_str(" …");
        }
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[[&str; 3]]) -> Table {
        Table {
            columns: vec!["age".into(), "zip".into(), "diag".into()],
            rows: rows
                .iter()
                .map(|r| r.iter().map(|v| Some(v.to_string())).collect())
                .collect(),
        }
    }

    #[test]
    fn measures_classes_and_utility() {
        let t = table(&[
            ["30-39", "941**", "flu"],
            ["30-39", "941**", "cold"],
            ["40-49", "100**", "flu"],
            ["40-49", "100**", "flu"],
            ["*", "*", "flu"],
        ]);
        let qi = ["age".to_string(), "zip".to_string()];
        let a = analyze(&t, &qi, Some("diag"), Some(2)).unwrap();
        assert_eq!((a.k, a.classes, a.suppressed, a.l), (2, 2, 1, Some(1)));
        assert_eq!(a.discernibility, 4 + 4 + 5);
        assert!((a.normalized_aecs - 1.0).abs() < 1e-9);
        let everything = table(&[["*", "*", "a"]; 4]);
        let b = analyze(&everything, &qi, None, Some(2)).unwrap();
        assert_eq!((b.k, b.suppressed, b.suppression_rate), (0, 4, 1.0));
        assert!(analyze(&t, &["nope".to_string()], None, None).is_err());
    }
}
