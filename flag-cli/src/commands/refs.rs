//! `refs PATH [KEY...]`: where flag keys appear in a source tree, so that a user knows which
//! code to delete with a flag.
//!
//! The tree is walked with the `ignore` crate (ripgrep's walker): it honours `.gitignore`,
//! `.ignore` and git's exclude files, and skips hidden files and directories, so build output,
//! vendored dependencies and `.git` itself are not searched. Binary files (a NUL byte in their
//! first 8 KiB, git's test) are skipped too.
//!
//! A key matches only as a whole token: the byte before it and the byte after it are not
//! `[A-Za-z0-9_.-]` (or are the line's ends). Keys are made of exactly those characters, so a
//! line is cut into maximal runs of them and each run is looked up: `checkout` does not match
//! `new_checkout`, `checkout.v2` or `checkout-old`, but matches `"checkout"` and `(checkout)`.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use flag_sdk::FlagKey;
use serde::Serialize;

use super::{flags, stale, Ctx, Outcome};
use crate::cli::{Output, RefsArgs};
use crate::error::{Error, Result};
use crate::output;

/// Bytes read to tell a binary file from a text file.
const BINARY_PROBE: usize = 8 * 1024;

/// One place a key appears: 1-based line and byte column, as ripgrep's `--column`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Hit {
    /// The file, as the walk named it (under the searched path).
    pub path: String,
    /// Line, from 1.
    pub line: usize,
    /// Byte column, from 1.
    pub column: usize,
}

/// The references of one key.
#[derive(Debug, Serialize)]
struct KeyRefs {
    key: String,
    references: Vec<Hit>,
}

/// What `refs --output json` prints.
#[derive(Debug, Serialize)]
struct Report {
    path: String,
    files_searched: usize,
    binary_files_skipped: usize,
    flags: Vec<KeyRefs>,
}

/// Whether a byte can be part of a flag key.
fn key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

/// Every whole-token occurrence of `keys` in `text`: (key, line from 1, byte column from 1).
pub fn find_in<'k>(text: &[u8], keys: &HashSet<&'k str>) -> Vec<(&'k str, usize, usize)> {
    let longest = keys.iter().map(|k| k.len()).max().unwrap_or(0);
    let mut found = Vec::new();
    for (n, line) in text.split(|&b| b == b'\n').enumerate() {
        let mut i = 0;
        while i < line.len() {
            if !key_byte(line[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < line.len() && key_byte(line[i]) {
                i += 1;
            }
            let token = &line[start..i];
            if token.len() <= longest {
                // Key bytes are ASCII, so the run is UTF-8.
                if let Some(key) = std::str::from_utf8(token).ok().and_then(|t| keys.get(t)) {
                    found.push((*key, n + 1, start + 1));
                }
            }
        }
    }
    found
}

/// Whether the start of a file looks binary (a NUL byte, as git decides).
fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_PROBE)].contains(&0)
}

/// Walks `root` and finds `keys` in every text file that is not ignored or hidden.
fn search(root: &Path, keys: &[String]) -> (Report, Vec<String>) {
    let wanted: HashSet<&str> = keys.iter().map(String::as_str).collect();
    let mut refs: BTreeMap<&str, Vec<Hit>> = keys.iter().map(|k| (k.as_str(), vec![])).collect();
    let mut problems = Vec::new();
    let mut files = 0;
    let mut binary = 0;
    // `require_git(false)`: a .gitignore counts in an unpacked tarball or a CI checkout
    // without .git as well.
    let walk = ignore::WalkBuilder::new(root).require_git(false).build();
    for entry in walk {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let bytes = match std::fs::read(entry.path()) {
            Ok(b) => b,
            Err(e) => {
                problems.push(format!("{}: {e}", entry.path().display()));
                continue;
            }
        };
        if is_binary(&bytes) {
            binary += 1;
            continue;
        }
        files += 1;
        let path = entry.path().display().to_string();
        for (key, line, column) in find_in(&bytes, &wanted) {
            if let Some(hits) = refs.get_mut(key) {
                hits.push(Hit {
                    path: path.clone(),
                    line,
                    column,
                });
            }
        }
    }
    let flags = refs
        .into_iter()
        .map(|(key, mut references)| {
            references.sort();
            KeyRefs {
                key: key.to_owned(),
                references,
            }
        })
        .collect();
    let report = Report {
        path: root.display().to_string(),
        files_searched: files,
        binary_files_skipped: binary,
        flags,
    };
    (report, problems)
}

/// The keys to look for: the ones given, or the environment's (stale) flags.
async fn keys(ctx: &Ctx, args: &RefsArgs) -> Result<Vec<String>> {
    if !args.keys.is_empty() {
        return args
            .keys
            .iter()
            .map(|k| {
                FlagKey::parse(k.as_str())
                    .map(FlagKey::into_string)
                    .map_err(|m| Error::Usage(format!("flag key {k:?} {m}")))
            })
            .collect();
    }
    let list = match args.stale {
        Some(days) => stale::fetch_any(ctx, days).await?,
        None => flags::fetch_all(ctx).await?,
    };
    Ok(list
        .flags
        .into_iter()
        .map(|f| f.flag.key.to_string())
        .collect())
}

/// Runs `refs`; exit 0 whether the keys are found or not.
pub async fn run(ctx: &Ctx, args: &RefsArgs) -> Result<Outcome> {
    if let Err(e) = std::fs::metadata(&args.path) {
        return Err(Error::Usage(format!(
            "cannot search {}: {e}",
            args.path.display()
        )));
    }
    let keys = keys(ctx, args).await?;
    if keys.is_empty() {
        let what = if args.stale.is_some() {
            "no stale flags"
        } else {
            "no flags"
        };
        output::note(format!("{what} in {}: nothing to look for", ctx.env_what()));
        if ctx.output == Output::Json {
            output::json(&Report {
                path: args.path.display().to_string(),
                files_searched: 0,
                binary_files_skipped: 0,
                flags: Vec::new(),
            })?;
        }
        return Ok(Outcome::Done);
    }
    let root = args.path.clone();
    let (report, problems) = tokio::task::spawn_blocking(move || search(&root, &keys))
        .await
        .map_err(|e| Error::Output(format!("the search stopped: {e}")))?;
    for p in &problems {
        output::note(format!("warning: {p}"));
    }
    if ctx.output == Output::Json {
        output::json(&report)?;
    } else {
        for k in &report.flags {
            for h in &k.references {
                output::line(format!("{}:{}:{}: {}", h.path, h.line, h.column, k.key))?;
            }
        }
    }
    if !report.flags.is_empty() {
        output::note(summary(&report));
    }
    Ok(Outcome::Done)
}

/// `5 references to 2 of 3 flags in 40 files; no references to: old_banner`.
fn summary(r: &Report) -> String {
    let total: usize = r.flags.iter().map(|k| k.references.len()).sum();
    let found = r.flags.iter().filter(|k| !k.references.is_empty()).count();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut s = format!(
        "{} to {found} of {} in {}",
        plural(total, "reference", "references"),
        plural(r.flags.len(), "flag", "flags"),
        plural(r.files_searched, "file", "files"),
    );
    let missing: Vec<&str> = r
        .flags
        .iter()
        .filter(|k| k.references.is_empty())
        .map(|k| k.key.as_str())
        .collect();
    if !missing.is_empty() {
        s.push_str(&format!("; no references to: {}", missing.join(", ")));
    }
    if r.binary_files_skipped > 0 {
        s.push_str(&format!(
            " ({} skipped)",
            plural(r.binary_files_skipped, "binary file", "binary files")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str, keys: &[&'static str]) -> Vec<(&'static str, usize, usize)> {
        let keys: HashSet<&str> = keys.iter().copied().collect();
        find_in(text.as_bytes(), &keys)
    }

    #[test]
    fn whole_tokens_only() {
        let keys = ["checkout"];
        assert_eq!(
            find("is_enabled(\"checkout\")", &keys),
            [("checkout", 1, 13)]
        );
        assert_eq!(find("checkout", &keys), [("checkout", 1, 1)]);
        assert_eq!(find("x = checkout;", &keys), [("checkout", 1, 5)]);
        assert_eq!(find("'checkout' `checkout`", &keys).len(), 2);
        assert_eq!(find("flags[checkout]:checkout/", &keys).len(), 2);
        for not in [
            "new_checkout",
            "checkout_v2",
            "checkout2",
            "Checkout",
            "checkout.v2",
            "flags.checkout",
            "checkout-old",
            "pre-checkout",
        ] {
            assert_eq!(find(not, &keys), [], "{not}");
        }
    }

    #[test]
    fn lines_and_columns_and_several_keys() {
        let text = "// new_checkout\nif flags.is_enabled(\"new_checkout\") {\n\tbanner(\"old.banner\", \"new_checkout\")\n}";
        let keys = ["new_checkout", "old.banner", "absent"];
        assert_eq!(
            find(text, &keys),
            [
                ("new_checkout", 1, 4),
                ("new_checkout", 2, 22),
                ("old.banner", 3, 10),
                ("new_checkout", 3, 24),
            ]
        );
        // Keys with dots and dashes match whole, not their parts.
        assert_eq!(find("old.banner", &["old", "banner"]), []);
        assert_eq!(find("a-b a", &["a-b", "a"]), [("a-b", 1, 1), ("a", 1, 5)]);
    }

    #[test]
    fn bytes_that_are_not_utf8_or_crlf_lines() {
        let mut text = b"\xff\xfe checkout\r\n\xe9checkout".to_vec();
        text.extend_from_slice(b" \xc3\xa9checkout");
        let keys: HashSet<&str> = ["checkout"].into_iter().collect();
        // Non-ASCII bytes are not key characters, so they bound a token.
        assert_eq!(
            find_in(&text, &keys),
            [("checkout", 1, 4), ("checkout", 2, 2), ("checkout", 2, 13)]
        );
    }

    #[test]
    fn binary_files() {
        assert!(is_binary(b"ELF\0\0checkout"));
        assert!(!is_binary(b"checkout"));
        let mut late = vec![b'a'; BINARY_PROBE];
        late.push(0);
        assert!(!is_binary(&late), "only the first 8 KiB are probed");
    }

    #[test]
    fn the_walk_skips_ignored_hidden_and_binary_files() {
        let dir = tempfile::Builder::new().prefix("refs").tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join("target")).unwrap();
        std::fs::create_dir_all(root.join(".cache")).unwrap();
        std::fs::write(root.join(".gitignore"), "target/\n").unwrap();
        std::fs::write(root.join("src/a.rs"), "if on(\"checkout\") {}\n").unwrap();
        std::fs::write(root.join("target/out.rs"), "checkout").unwrap();
        std::fs::write(root.join(".cache/x"), "checkout").unwrap();
        std::fs::write(root.join("logo.png"), b"\x89PNG\0checkout").unwrap();
        let (report, problems) = search(root, &["checkout".into(), "gone".into()]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            report.files_searched, 1,
            "only src/a.rs: .gitignore is hidden"
        );
        assert_eq!(report.binary_files_skipped, 1);
        let hits: Vec<(&str, usize)> = report
            .flags
            .iter()
            .flat_map(|k| k.references.iter().map(move |h| (k.key.as_str(), h.line)))
            .collect();
        assert_eq!(hits, [("checkout", 1)]);
        assert!(report.flags[0].references[0].path.ends_with("a.rs"));
        assert_eq!(
            summary(&report),
            "1 reference to 1 of 2 flags in 1 file; no references to: gone (1 binary file skipped)"
        );
    }
}
