//! Resolution of user-given locations into an object store and a prefix.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::http::HttpBuilder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{BackoffConfig, ClientConfigKey, ObjectStore, ObjectStoreScheme, RetryConfig};
use url::Url;

use crate::error::StoreError;

/// An object store and the prefix of one imzarr store (or one input file) inside it.
#[derive(Debug, Clone)]
pub struct StoreLocation {
    /// The backend.
    pub store: Arc<dyn ObjectStore>,
    /// The prefix (directory) inside the backend; empty for the backend's root.
    pub prefix: Path,
    /// What the user gave, for messages (never contains credentials: object_store reads them
    /// from the environment).
    pub display: String,
    /// The directory of a store given as a local path, where the backend's own staging files
    /// (`<object>#<n>`, left by an upload that was killed) can be found: object_store does not
    /// list them.
    pub local_root: Option<std::path::PathBuf>,
}

/// Retries of transient object-store failures (5xx answers, SlowDown, dropped connections):
/// up to 8 retries with backoff from 100 ms to 5 s, giving up after 60 s, so that a server
/// that is down fails a run in well under a minute per request. object_store draws each wait
/// between the first one and `base` times the last: with a base of 2 the waits grow by about
/// 50 ms a retry (all 8 took 1.9 s against a server answering every request with SlowDown),
/// too little for a throttling S3; with 3 they grow by half each time (15-18 s in all there).
pub fn retry_config() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 3.0,
        },
        max_retries: 8,
        retry_timeout: Duration::from_secs(60),
    }
}

impl StoreLocation {
    /// Resolves a local path (relative or absolute), a `file://` URL, an `s3://bucket/prefix`
    /// URL or any URL object_store supports. For local paths, `create_dir` makes the directory
    /// first (for outputs).
    pub fn from_url(text: &str, create_dir: bool) -> Result<Self, StoreError> {
        let invalid = |message: String| StoreError::InvalidUrl {
            url: text.to_string(),
            message,
        };
        let display = text.to_string();
        match Url::parse(text) {
            Ok(url) if url.scheme() == "file" => {
                let path = url
                    .to_file_path()
                    .map_err(|()| invalid("not a local file URL".into()))?;
                Self::local(&path, create_dir, display)
            }
            Ok(url) if url.scheme().len() > 1 => Self::remote(&url, display),
            // Not a URL, or a Windows drive letter parsed as a scheme: a local path.
            _ => Self::local(std::path::Path::new(text), create_dir, display),
        }
    }

    /// A store behind a URL (`s3://`, `https://`, ...), built with [`retry_config`]; S3
    /// credentials, region and endpoint come from the standard `AWS_*` environment variables.
    fn remote(url: &Url, display: String) -> Result<Self, StoreError> {
        let backend = |source: object_store::Error| StoreError::Backend {
            url: display.clone(),
            source,
        };
        let (scheme, prefix) = ObjectStoreScheme::parse(url).map_err(|e| backend(e.into()))?;
        let store: Arc<dyn ObjectStore> = match scheme {
            ObjectStoreScheme::AmazonS3 => Arc::new(
                AmazonS3Builder::from_env()
                    .with_url(url.as_str())
                    .with_retry(retry_config())
                    .build()
                    .map_err(backend)?,
            ),
            ObjectStoreScheme::Http => Arc::new(
                HttpBuilder::new()
                    .with_url(&url[..url::Position::BeforePath])
                    // A plain `http://` URL asks for plain HTTP (a web server or a public
                    // bucket on the local network); object_store's clients refuse it unless told.
                    .with_config(ClientConfigKey::AllowHttp, (url.scheme() == "http").to_string())
                    .with_retry(retry_config())
                    .build()
                    .map_err(backend)?,
            ),
            // `memory://`, and the backends this build leaves out (object_store names them).
            _ => Arc::from(object_store::parse_url(url).map_err(backend)?.0),
        };
        Ok(Self {
            store,
            prefix,
            display,
            local_root: None,
        })
    }

    fn local(path: &std::path::Path, create_dir: bool, display: String) -> Result<Self, StoreError> {
        let io = |source| StoreError::Io {
            path: path.display().to_string(),
            source,
        };
        if create_dir {
            std::fs::create_dir_all(path).map_err(io)?;
        }
        let absolute = std::path::absolute(path).map_err(io)?;
        // Empty directories go with their last object, so that an overwritten store whose
        // chunk keys became files where directories were (2-D to 1-D arrays) can be written.
        let store = LocalFileSystem::new_with_prefix(&absolute)
            .map(|fs| fs.with_automatic_cleanup(true))
            .map_err(|source| StoreError::Backend {
                url: display.clone(),
                source,
            })?;
        // Large objects past the page cache, where the system can (see `direct_local`).
        #[cfg(target_os = "linux")]
        let store = crate::direct_local::DirectLocal::new(store, &absolute);
        Ok(Self {
            store: Arc::new(store),
            prefix: Path::default(),
            display,
            local_root: Some(absolute),
        })
    }

    /// The object path of `key` (a `/`-separated key relative to the prefix).
    pub fn path_of(&self, key: &str) -> Path {
        let mut parts: Vec<String> = self.prefix.parts().map(|p| p.as_ref().to_string()).collect();
        parts.extend(key.split('/').filter(|p| !p.is_empty()).map(str::to_string));
        Path::from_iter(parts)
    }
}
