//! Inputs on object storage named by a prefix (`s3://bucket/run/`): the `.imzML` objects below
//! it, found by one listing.

use std::collections::HashMap;

use futures::TryStreamExt;
use imzarr_store::StoreLocation;

use crate::exit::{CommandError, Failure};

/// For every input that is an object-store URL but not an `.imzML` object, the URLs of the
/// `.imzML` objects below it, with their paths relative to it.
pub async fn list_prefixes(inputs: &[String]) -> Result<HashMap<String, Vec<(String, String)>>, CommandError> {
    let mut listed = HashMap::new();
    for input in inputs {
        if !is_remote_prefix(input) {
            continue;
        }
        let location = StoreLocation::from_url(input, false)?;
        let prefix = location.prefix.as_ref().to_string();
        let objects: Vec<object_store::ObjectMeta> =
            imzarr_store::retry_idempotent(|| location.store.list(Some(&location.prefix)).try_collect())
                .await
                .map_err(|e| CommandError::new(Failure::Io, format!("{input}: listing: {e}")))?;
        let base = input.trim_end_matches('/');
        let mut found: Vec<(String, String)> = objects
            .iter()
            .map(|o| o.location.as_ref())
            .filter(|key| key.to_ascii_lowercase().ends_with(".imzml"))
            .map(|key| {
                let relative = key[prefix.len()..].trim_start_matches('/').to_string();
                (relative.clone(), format!("{base}/{relative}"))
            })
            .collect();
        if found.is_empty() {
            return Err(CommandError::new(
                Failure::Input,
                format!("{input}: no .imzML objects below this prefix"),
            ));
        }
        found.sort();
        listed.insert(input.clone(), found);
    }
    Ok(listed)
}

/// An object-store URL (not a local path or `file://`) that does not name an `.imzML` object.
pub fn is_remote_prefix(input: &str) -> bool {
    let remote = url::Url::parse(input).is_ok_and(|u| u.scheme().len() > 1 && u.scheme() != "file");
    remote && !input.to_ascii_lowercase().ends_with(".imzml")
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
    }
}
