//! Encodes shards off the async threads and uploads them, several at a time, while the
//! conversion goes on producing the next ones.

use std::sync::{Arc, Mutex};

use tokio::task::JoinSet;
use zarrs::storage::{AsyncWritableStorageTraits, StoreKey};

use imzarr_store::ZarrsObjectStore;

use crate::shard_encoder::ShardEncoder;

/// Buffers of raw shards, handed back once their shard is encoded so that the next shards
/// fill them: fresh memory costs a page fault and the zeroing of every page (a tenth of the
/// CPU time of a processed conversion went there). It never holds more buffers than were in
/// use at once, which the memory plan counts already.
#[derive(Clone, Default)]
pub(crate) struct BufferPool(Arc<Mutex<Vec<Vec<u8>>>>);

impl BufferPool {
    /// An empty buffer of at least `capacity` bytes.
    pub(crate) fn take(&self, capacity: usize) -> Vec<u8> {
        let mut buffer = self.0.lock().ok().and_then(|mut pool| pool.pop()).unwrap_or_default();
        buffer.clear();
        buffer.reserve_exact(capacity);
        buffer
    }

    fn give(&self, buffer: Vec<u8>) {
        if let Ok(mut pool) = self.0.lock() {
            pool.push(buffer);
        }
    }
}

/// A failed shard: its key and what went wrong.
pub(crate) type ShardFailure = (String, String);

/// Shards being encoded and uploaded.
pub(crate) struct ShardPipeline {
    storage: Arc<ZarrsObjectStore>,
    in_flight: JoinSet<Result<(), ShardFailure>>,
    limit: usize,
    buffers: BufferPool,
}

impl ShardPipeline {
    pub(crate) fn new(storage: Arc<ZarrsObjectStore>, limit: usize) -> Self {
        Self {
            storage,
            in_flight: JoinSet::new(),
            limit: limit.max(1),
            buffers: BufferPool::default(),
        }
    }

    /// Where the buffers of encoded shards go back to.
    pub(crate) fn buffers(&self) -> &BufferPool {
        &self.buffers
    }

    /// Queues the shard `key` (raw bytes of the whole shard, in a buffer that goes back to
    /// [`buffers`](Self::buffers) once encoded); waits while `limit` shards are in flight.
    pub(crate) async fn submit(
        &mut self,
        encoder: Arc<ShardEncoder>,
        key: String,
        bytes: Vec<u8>,
    ) -> Result<(), ShardFailure> {
        while self.in_flight.len() >= self.limit {
            self.join_one().await?;
        }
        let (storage, buffers) = (self.storage.clone(), self.buffers.clone());
        self.in_flight.spawn(async move {
            let store_key = StoreKey::new(&key).map_err(|e| (key.clone(), e.to_string()))?;
            let encoded = tokio::task::spawn_blocking(move || {
                let encoded = encoder.encode(&bytes);
                buffers.give(bytes);
                encoded
            })
            .await
            .map_err(|e| (key.clone(), e.to_string()))?
            .map_err(|e| (key.clone(), e))?;
            storage.set(&store_key, encoded).await.map_err(|e| (key, e.to_string()))
        });
        Ok(())
    }

    async fn join_one(&mut self) -> Result<(), ShardFailure> {
        match self.in_flight.join_next().await {
            Some(Ok(result)) => result,
            Some(Err(panic)) => Err(("(shard task)".into(), panic.to_string())),
            None => Ok(()),
        }
    }

    /// Waits for every queued shard.
    pub(crate) async fn drain(&mut self) -> Result<(), ShardFailure> {
        while !self.in_flight.is_empty() {
            self.join_one().await?;
        }
        Ok(())
    }
}
