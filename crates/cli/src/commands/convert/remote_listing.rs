//! Inputs on object storage named by a prefix (`s3://bucket/run/`) or a glob pattern
//! (`s3://bucket/run/*/*.imzML`, `**` for any depth): the `.imzML` objects below the prefix, or
//! those the pattern matches below the part before its first wildcard, found by one listing.

use std::collections::HashMap;

use futures::TryStreamExt;
use imzarr_store::StoreLocation;

use crate::exit::{CommandError, Failure};

/// For every input that is an object-store prefix or pattern, the URLs of the `.imzML`
/// objects it names, with their paths relative to the prefix (or to the pattern's literal
/// start).
pub async fn list_prefixes(inputs: &[String]) -> Result<HashMap<String, Vec<(String, String)>>, CommandError> {
    let mut listed = HashMap::new();
    for input in inputs {
        if !is_remote_prefix(input) {
            continue;
        }
        let (base, pattern) = split_pattern(input);
        let pattern = pattern
            .map(|p| {
                glob::Pattern::new(p)
                    .map_err(|e| CommandError::new(Failure::Usage, format!("{input}: bad pattern: {e}")))
            })
            .transpose()?;
        let location = StoreLocation::from_url(base, false)?;
        let prefix = location.prefix.as_ref().to_string();
        let objects: Vec<object_store::ObjectMeta> =
            imzarr_store::retry_idempotent(|| location.store.list(Some(&location.prefix)).try_collect())
                .await
                .map_err(|e| CommandError::new(Failure::Io, format!("{input}: listing: {e}")))?;
        let base = base.trim_end_matches('/');
        let options = glob::MatchOptions {
            require_literal_separator: true,
            ..glob::MatchOptions::new()
        };
        let mut found: Vec<(String, String)> = objects
            .iter()
            .map(|o| o.location.as_ref())
            .filter(|key| key.to_ascii_lowercase().ends_with(".imzml"))
            .map(|key| key[prefix.len()..].trim_start_matches('/').to_string())
            .filter(|relative| pattern.as_ref().is_none_or(|p| p.matches_with(relative, options)))
            .map(|relative| {
                let url = format!("{base}/{relative}");
                (relative, url)
            })
            .collect();
        if found.is_empty() {
            return Err(CommandError::new(
                Failure::Input,
                format!("{input}: no .imzML objects match"),
            ));
        }
        found.sort();
        listed.insert(input.clone(), found);
    }
    Ok(listed)
}

/// An object-store URL (not a local path or `file://`) that holds a glob pattern or does not
/// name an `.imzML` object.
pub fn is_remote_prefix(input: &str) -> bool {
    let remote = url::Url::parse(input).is_ok_and(|u| u.scheme().len() > 1 && u.scheme() != "file");
    remote && (has_pattern(input) || !input.to_ascii_lowercase().ends_with(".imzml"))
}

fn has_pattern(input: &str) -> bool {
    input.contains(['*', '?', '['])
}

/// `s3://b/run/*/x*.imzML` -> (`s3://b/run`, `Some("*/x*.imzML")`): the URL up to the last `/`
/// before the first wildcard, and the pattern after it.
fn split_pattern(input: &str) -> (&str, Option<&str>) {
    match input.find(['*', '?', '[']) {
        None => (input, None),
        Some(wildcard) => {
            let cut = input[..wildcard].rfind('/').unwrap_or(0);
            (&input[..cut], Some(&input[cut + 1..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_remote_urls_that_are_not_imzml_objects() {
        assert!(is_remote_prefix("s3://bucket/run/"));
        assert!(is_remote_prefix("s3://bucket"));
        assert!(!is_remote_prefix("s3://bucket/run/x.IMZML"));
        assert!(!is_remote_prefix("archive/"));
        assert!(!is_remote_prefix("file:///data/run/"));
        assert!(!is_remote_prefix("C:\\data\\x"));
        assert!(is_remote_prefix("s3://bucket/run/*.imzML"));
    }

    #[test]
    fn patterns_split_at_the_last_slash_before_the_first_wildcard() {
        assert_eq!(split_pattern("s3://b/run/"), ("s3://b/run/", None));
        assert_eq!(split_pattern("s3://b/run/*.imzML"), ("s3://b/run", Some("*.imzML")));
        assert_eq!(
            split_pattern("s3://b/run/day?/**/x*.imzML"),
            ("s3://b/run", Some("day?/**/x*.imzML"))
        );
    }
}
