//! The `MEMKIND_MEM_TIERS` / `MEMKIND_MEM_THRESHOLDS` language (memkind's `libmemtier(7)`):
//!
//! ```text
//! MEMKIND_MEM_TIERS="KIND:DRAM,RATIO:1;KIND:FS_DAX,PATH:/mnt/pmem,PMEM_SIZE_LIMIT:10G,RATIO:4;POLICY:STATIC_RATIO"
//! MEMKIND_MEM_THRESHOLDS="INIT_VAL:64,MIN_VAL:1,MAX_VAL:10000"
//! ```
//!
//! A mistake is reported with the token at fault and what was expected there.

use std::fmt;

use super::{PolicyKind, ThresholdCfg, MAX_TIERS};

pub const TIERS_VAR: &str = "MEMKIND_MEM_TIERS";
pub const THRESHOLDS_VAR: &str = "MEMKIND_MEM_THRESHOLDS";
/// Smallest `PMEM_SIZE_LIMIT` (memkind's `MEMKIND_PMEM_MIN_SIZE`).
const MIN_LIMIT: u64 = 16 << 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TierKind {
    Dram,
    KmemDax,
    /// A file-backed kind in `path`, limited to `limit` bytes (0: the file system's size).
    FsDax {
        path: String,
        limit: usize,
    },
}

impl TierKind {
    pub fn name(&self) -> &'static str {
        match self {
            TierKind::Dram => "DRAM",
            TierKind::KmemDax => "KMEM_DAX",
            TierKind::FsDax { .. } => "FS_DAX",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TierCfg {
    pub kind: TierKind,
    pub ratio: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub tiers: Vec<TierCfg>,
    pub policy: PolicyKind,
    pub thresholds: Vec<ThresholdCfg>,
}

/// A configuration mistake: the variable, the token at fault and what was expected.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub var: &'static str,
    pub token: String,
    pub expected: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: '{}': {}", self.var, self.token, self.expected)
    }
}

fn err<T>(var: &'static str, token: &str, expected: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError {
        var,
        token: token.to_owned(),
        expected: expected.into(),
    })
}

/// Parses both variables; `thresholds` is `None` when `MEMKIND_MEM_THRESHOLDS` is unset.
pub fn parse(tiers: &str, thresholds: Option<&str>) -> Result<Config, ConfigError> {
    let v = TIERS_VAR;
    let entries: Vec<&str> = tiers.split(';').collect();
    let (last, tier_entries) = entries
        .split_last()
        .expect("split yields one item at least");
    let policy = match *last {
        "POLICY:STATIC_RATIO" => PolicyKind::StaticRatio,
        "POLICY:DYNAMIC_THRESHOLD" => PolicyKind::DynamicThreshold,
        p if p.starts_with("POLICY:") => {
            return err(
                v,
                p,
                "expected POLICY:STATIC_RATIO or POLICY:DYNAMIC_THRESHOLD",
            )
        }
        p => {
            return err(
                v,
                p,
                "expected the last entry to be POLICY:STATIC_RATIO or POLICY:DYNAMIC_THRESHOLD",
            )
        }
    };
    if tier_entries.is_empty() {
        return err(
            v,
            tiers,
            "expected at least one tier before the POLICY entry",
        );
    }
    if tier_entries.len() > MAX_TIERS {
        return err(v, tiers, format!("expected at most {MAX_TIERS} tiers"));
    }
    let mut out = Vec::new();
    for entry in tier_entries {
        let t = parse_tier(entry)?;
        if matches!(t.kind, TierKind::Dram | TierKind::KmemDax)
            && out.iter().any(|o: &TierCfg| o.kind == t.kind)
        {
            return err(
                v,
                entry,
                format!("expected KIND:{} in one tier only", t.kind.name()),
            );
        }
        out.push(t);
    }
    if policy == PolicyKind::DynamicThreshold && out.len() < 2 {
        return err(
            v,
            last,
            "expected at least two tiers for POLICY:DYNAMIC_THRESHOLD",
        );
    }
    let thresholds = match thresholds {
        None => Vec::new(),
        Some(s) if policy != PolicyKind::DynamicThreshold => {
            return err(
                THRESHOLDS_VAR,
                s,
                "expected no thresholds: they apply to POLICY:DYNAMIC_THRESHOLD only",
            )
        }
        Some(s) => parse_thresholds(s, out.len() - 1)?,
    };
    Ok(Config {
        tiers: out,
        policy,
        thresholds,
    })
}

fn parse_tier(entry: &str) -> Result<TierCfg, ConfigError> {
    let v = TIERS_VAR;
    if entry.is_empty() {
        return err(
            v,
            entry,
            "expected a tier (KIND:...,RATIO:...), found an empty entry",
        );
    }
    let (mut kind, mut path, mut limit, mut ratio) = (None, None, None, None);
    for param in entry.split(',') {
        let Some((name, value)) = param.split_once(':') else {
            return err(v, param, "expected NAME:VALUE");
        };
        let twice = match name {
            "KIND" => kind
                .replace(match value {
                    "DRAM" => TierKind::Dram,
                    "KMEM_DAX" => TierKind::KmemDax,
                    "FS_DAX" => TierKind::FsDax {
                        path: String::new(),
                        limit: 0,
                    },
                    _ => return err(v, param, "expected KIND:DRAM, KIND:KMEM_DAX or KIND:FS_DAX"),
                })
                .is_some(),
            "PATH" if value.is_empty() => return err(v, param, "expected a directory after PATH:"),
            "PATH" => path.replace((param, value.to_owned())).is_some(),
            "PMEM_SIZE_LIMIT" => limit
                .replace((
                    param,
                    parse_size(value).ok_or(()).or_else(|_| {
                        err(
                            v,
                            param,
                            "expected a size in bytes with an optional K, M or G suffix",
                        )
                    })?,
                ))
                .is_some(),
            "RATIO" => ratio
                .replace(match value.parse::<u32>() {
                    Ok(r) if r > 0 => r,
                    _ => return err(v, param, "expected a ratio from 1 to 4294967295"),
                })
                .is_some(),
            "POLICY" => return err(v, param, "expected POLICY only as the last entry"),
            _ => {
                return err(
                    v,
                    param,
                    "expected one of KIND, PATH, PMEM_SIZE_LIMIT and RATIO",
                )
            }
        };
        if twice {
            return err(v, param, format!("expected {name} once per tier"));
        }
    }
    let Some(mut kind) = kind else {
        return err(
            v,
            entry,
            "expected KIND:DRAM, KIND:KMEM_DAX or KIND:FS_DAX in the tier",
        );
    };
    let Some(ratio) = ratio else {
        return err(v, entry, "expected RATIO:N in the tier");
    };
    match &mut kind {
        TierKind::FsDax { path: p, limit: l } => {
            let Some((_, dir)) = path else {
                return err(v, entry, "expected PATH:DIR in a KIND:FS_DAX tier");
            };
            if !std::path::Path::new(&dir).is_dir() {
                return err(v, &format!("PATH:{dir}"), "expected an existing directory");
            }
            if let Some((param, bytes)) = limit {
                if bytes != 0 && bytes < MIN_LIMIT {
                    return err(v, param, "expected 0 (no limit) or at least 16M");
                }
                *l = usize::try_from(bytes).unwrap_or(usize::MAX);
            }
            *p = dir;
        }
        other => {
            if let Some((param, _)) = path {
                return err(
                    v,
                    param,
                    format!(
                        "expected PATH only in a KIND:FS_DAX tier, not KIND:{}",
                        other.name()
                    ),
                );
            }
            if let Some((param, _)) = limit {
                return err(
                    v,
                    param,
                    format!(
                        "expected PMEM_SIZE_LIMIT only in a KIND:FS_DAX tier, not KIND:{}",
                        other.name()
                    ),
                );
            }
        }
    }
    Ok(TierCfg { kind, ratio })
}

/// `1`, `1K`, `1M`, `1G` (powers of 1024).
fn parse_size(s: &str) -> Option<u64> {
    let (digits, shift) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 10),
        b'M' | b'm' => (&s[..s.len() - 1], 20),
        b'G' | b'g' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

fn parse_thresholds(s: &str, max: usize) -> Result<Vec<ThresholdCfg>, ConfigError> {
    let v = THRESHOLDS_VAR;
    let entries: Vec<&str> = s.split(';').collect();
    if entries.len() > max {
        return err(
            v,
            s,
            format!("expected at most {max} threshold(s): one between each two tiers"),
        );
    }
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if entry.is_empty() {
            return err(v, entry, "expected INIT_VAL, MIN_VAL or MAX_VAL settings");
        }
        let mut c = [None::<usize>; 3];
        for param in entry.split(',') {
            let Some((name, value)) = param.split_once(':') else {
                return err(v, param, "expected NAME:VALUE");
            };
            let slot = match name {
                "INIT_VAL" => 0,
                "MIN_VAL" => 1,
                "MAX_VAL" => 2,
                _ => return err(v, param, "expected INIT_VAL, MIN_VAL or MAX_VAL"),
            };
            let Ok(n) = value.parse::<usize>() else {
                return err(v, param, "expected a size in bytes");
            };
            if c[slot].replace(n).is_some() {
                return err(v, param, format!("expected {name} once per threshold"));
            }
        }
        let d = ThresholdCfg::default_for(i);
        let t = ThresholdCfg {
            val: c[0].unwrap_or(d.val),
            min: c[1].unwrap_or(d.min),
            max: c[2].unwrap_or(d.max),
        };
        if !(t.min <= t.val && t.val <= t.max) {
            return err(v, entry, "expected MIN_VAL <= INIT_VAL <= MAX_VAL");
        }
        if let Some(prev) = out.last().map(|p: &ThresholdCfg| p.max) {
            if t.min <= prev {
                return err(
                    v,
                    entry,
                    "expected each threshold above the previous one's MAX_VAL",
                );
            }
        }
        out.push(t);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiers(s: &str) -> Result<Config, ConfigError> {
        parse(s, None)
    }

    #[test]
    fn parses_memkind_examples() {
        let dir = std::env::temp_dir();
        let d = dir.to_str().unwrap();
        let c = tiers(&format!(
            "KIND:FS_DAX,PATH:{d},PMEM_SIZE_LIMIT:10G,RATIO:1;KIND:DRAM,RATIO:4;POLICY:STATIC_RATIO"
        ))
        .unwrap();
        assert_eq!(c.policy, PolicyKind::StaticRatio);
        assert_eq!(
            c.tiers[0].kind,
            TierKind::FsDax {
                path: d.to_owned(),
                limit: 10 << 30
            }
        );
        assert_eq!((c.tiers[0].ratio, c.tiers[1].ratio), (1, 4));
        let c = parse(
            "KIND:DRAM,RATIO:1;KIND:KMEM_DAX,RATIO:4;POLICY:DYNAMIC_THRESHOLD",
            Some("INIT_VAL:64,MIN_VAL:1,MAX_VAL:10000"),
        )
        .unwrap();
        assert_eq!(
            c.thresholds,
            vec![ThresholdCfg {
                val: 64,
                min: 1,
                max: 10000
            }]
        );
        let c = parse(
            "KIND:DRAM,RATIO:1;KIND:KMEM_DAX,RATIO:4;POLICY:DYNAMIC_THRESHOLD",
            Some("MIN_VAL:600"),
        )
        .unwrap();
        assert_eq!(c.thresholds[0].val, 1024);
        assert_eq!(c.thresholds[0].max, 1536);
    }

    #[test]
    fn names_the_bad_token() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("KIND:FOO,RATIO:1;POLICY:STATIC_RATIO", None, "KIND:FOO"),
            ("KIND:DRAM;POLICY:STATIC_RATIO", None, "KIND:DRAM"),
            ("KIND:DRAM,RATIO:0;POLICY:STATIC_RATIO", None, "RATIO:0"),
            ("KIND:DRAM,RATIO:abc;POLICY:STATIC_RATIO", None, "RATIO:abc"),
            ("KIND:DRAM,RATIO:1", None, "KIND:DRAM,RATIO:1"),
            (
                "POLICY:STATIC_RATIO;KIND:DRAM,RATIO:1",
                None,
                "KIND:DRAM,RATIO:1",
            ),
            ("KIND:DRAM,RATIO:1;POLICY:FAST", None, "POLICY:FAST"),
            (
                "KIND:DRAM,PATH:/tmp,RATIO:1;POLICY:STATIC_RATIO",
                None,
                "PATH:/tmp",
            ),
            (
                "KIND:FS_DAX,RATIO:1;POLICY:STATIC_RATIO",
                None,
                "KIND:FS_DAX,RATIO:1",
            ),
            (
                "KIND:FS_DAX,PATH:/no/such/dir,RATIO:1;POLICY:STATIC_RATIO",
                None,
                "PATH:/no/such/dir",
            ),
            (
                "KIND:FS_DAX,PATH:/tmp,PMEM_SIZE_LIMIT:10X,RATIO:1;POLICY:STATIC_RATIO",
                None,
                "PMEM_SIZE_LIMIT:10X",
            ),
            (
                "KIND:DRAM,PMEM_SIZE_LIMIT:1G,RATIO:1;POLICY:STATIC_RATIO",
                None,
                "PMEM_SIZE_LIMIT:1G",
            ),
            (
                "KIND:DRAM,RATIO:1;POLICY:DYNAMIC_THRESHOLD",
                None,
                "POLICY:DYNAMIC_THRESHOLD",
            ),
            ("KIND:DRAM,RATIO:1;;POLICY:STATIC_RATIO", None, ""),
            (
                "KIND:DRAM,RATIO:1,RATIO:2;POLICY:STATIC_RATIO",
                None,
                "RATIO:2",
            ),
            (
                "KIND:DRAM,RATIO:1;KIND:DRAM,RATIO:1;POLICY:STATIC_RATIO",
                None,
                "KIND:DRAM,RATIO:1",
            ),
            (
                "KIND:DRAM,RATIO:1;KIND:FS_DAX,PATH:/tmp,RATIO:1;POLICY:DYNAMIC_THRESHOLD",
                Some("INIT_VAL:10,MIN_VAL:20"),
                "INIT_VAL:10,MIN_VAL:20",
            ),
            (
                "KIND:DRAM,RATIO:1;KIND:FS_DAX,PATH:/tmp,RATIO:1;POLICY:DYNAMIC_THRESHOLD",
                Some("INIT_VAL:10,INIT_VAL:20"),
                "INIT_VAL:20",
            ),
            (
                "KIND:DRAM,RATIO:1;KIND:FS_DAX,PATH:/tmp,RATIO:1;POLICY:DYNAMIC_THRESHOLD",
                Some("FOO:1"),
                "FOO:1",
            ),
            (
                "KIND:DRAM,RATIO:1;POLICY:STATIC_RATIO",
                Some("INIT_VAL:64"),
                "INIT_VAL:64",
            ),
        ];
        for &(t, th, token) in cases {
            let e = parse(t, th).expect_err(t);
            assert_eq!(e.token, token, "{t}: {e}");
            assert!(e.to_string().contains(&format!("'{token}'")));
            assert!(e.expected.starts_with("expected"), "{e}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1"), Some(1));
        assert_eq!(parse_size("2K"), Some(2048));
        assert_eq!(parse_size("3M"), Some(3 << 20));
        assert_eq!(parse_size("10G"), Some(10 << 30));
        assert_eq!(parse_size("G"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("99999999999999999999G"), None);
    }
}
