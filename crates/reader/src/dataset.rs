//! An open imzarr store and its queries.

use std::sync::Arc;

use imzarr_format::{AcquisitionMode, ImzarrAttributes, MzWindow, VersionCheck, check_version, paths};
use imzarr_imzml::XmlNode;
use imzarr_store::{RequestStats, StoreLocation, ZarrsObjectStore};
use serde_json::{Map, Value};
use tokio::sync::OnceCell;
use zarrs::storage::{AsyncReadableStorageTraits, StoreKey};

use crate::arrays::{Arrays, decode_f64};
use crate::error::{ReadError, Result};
use crate::mz_chunk_index::MzChunkIndex;
use crate::pixel_index::PixelIndex;
use crate::types::{Image, Spectrum};

/// An open imzarr store: metadata in memory, index arrays fetched on first use.
pub struct Dataset {
    pub(crate) location: String,
    pub(crate) storage: Arc<ZarrsObjectStore>,
    pub(crate) attributes: ImzarrAttributes,
    pub(crate) arrays: Arrays,
    pub(crate) pixel_index: OnceCell<Arc<PixelIndex>>,
    /// The m/z chunk index (processed stores).
    pub(crate) mz_chunk_index: Option<MzChunkIndex>,
    pub(crate) mz_axis_raw: OnceCell<(Arc<Vec<u8>>, String)>,
    pub(crate) point_offsets: OnceCell<Arc<Vec<u64>>>,
    pub(crate) source_index: OnceCell<Arc<Vec<u32>>>,
    pub(crate) mz_axis: OnceCell<Arc<Vec<f64>>>,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("location", &self.location)
            .field("mode", &self.attributes.mode)
            .finish_non_exhaustive()
    }
}

impl Dataset {
    /// Opens the store at a path or URL (`s3://bucket/prefix`, `file://...`, ...): one GET of
    /// the root `zarr.json`.
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_location(StoreLocation::from_url(url, false)?).await
    }

    /// Opens the store at `prefix` inside any object store.
    pub async fn open_store(store: Arc<dyn object_store::ObjectStore>, prefix: &str) -> Result<Self> {
        let prefix = object_store::path::Path::parse(prefix).map_err(|e| ReadError::Usage(e.to_string()))?;
        Self::open_location(StoreLocation {
            store,
            prefix: prefix.clone(),
            display: prefix.to_string(),
            local_root: None,
        })
        .await
    }

    /// Opens the store at a resolved location.
    pub async fn open_location(location: StoreLocation) -> Result<Self> {
        let display = location.display.clone();
        let storage = Arc::new(ZarrsObjectStore::new(location));
        let not_a_store = |reason: &str| ReadError::NotAStore {
            location: display.clone(),
            reason: reason.to_string(),
        };
        let key = StoreKey::new("zarr.json").map_err(|e| ReadError::Usage(e.to_string()))?;
        let bytes = storage
            .get(&key)
            .await
            .map_err(|e| ReadError::Data {
                location: display.clone(),
                array: "zarr.json".into(),
                message: format!("storage: {e}"),
            })?
            .ok_or_else(|| not_a_store("no zarr.json at its root (or the conversion did not finish)"))?;
        let root: Value = serde_json::from_slice(&bytes).map_err(|_| not_a_store("the root zarr.json is not JSON"))?;
        if root.get("zarr_format") != Some(&Value::from(3))
            || root.get("node_type").and_then(Value::as_str) != Some("group")
        {
            return Err(not_a_store("the root zarr.json is not a Zarr v3 group"));
        }
        let block = root
            .pointer("/attributes/imzarr")
            .ok_or_else(|| not_a_store("the root group has no imzarr attribute"))?;
        let version = block
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or("missing")
            .to_string();
        if check_version(&version) == VersionCheck::Incompatible {
            return Err(ReadError::IncompatibleVersion {
                location: display.clone(),
                found: version,
            });
        }
        let attributes: ImzarrAttributes = serde_json::from_value(block.clone()).map_err(|e| ReadError::Metadata {
            location: display.clone(),
            node: "zarr.json".into(),
            message: format!("imzarr attribute block: {e}"),
        })?;
        let consolidated: Map<String, Value> = root
            .pointer("/consolidated_metadata/metadata")
            .and_then(Value::as_object)
            .cloned()
            .ok_or_else(|| ReadError::Metadata {
                location: display.clone(),
                node: "zarr.json".into(),
                message: "no consolidated metadata".into(),
            })?;
        let arrays = Arrays::new(&display, storage.clone(), &consolidated)?;
        check_shapes(&display, &attributes, &arrays)?;
        let mz_chunk_index = match attributes.mode {
            AcquisitionMode::Processed => Some(MzChunkIndex::new(&display, &attributes, &arrays)?),
            AcquisitionMode::Continuous => None,
        };
        Ok(Self {
            location: display,
            storage,
            attributes,
            arrays,
            pixel_index: OnceCell::new(),
            mz_chunk_index,
            mz_axis_raw: OnceCell::new(),
            point_offsets: OnceCell::new(),
            source_index: OnceCell::new(),
            mz_axis: OnceCell::new(),
        })
    }

    /// Where the store is, as given to `open`.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The `imzarr` attribute block: grid, mode, counts, m/z range, source, ...
    pub fn attributes(&self) -> &ImzarrAttributes {
        &self.attributes
    }

    /// Whether the store is of a newer minor version of the format than this crate
    /// implements: it reads, but arrays, groups and attributes this crate does not know are
    /// ignored (the caller should tell the user).
    pub fn is_newer_than_reader(&self) -> bool {
        check_version(&self.attributes.version) == VersionCheck::NewerMinor
    }

    /// The whole imzML header of the source, as an element tree.
    pub fn header(&self) -> &Value {
        &self.attributes.source.header
    }

    /// The whole imzML header of the source as [`XmlNode`]s (the tree the imzML parser
    /// builds); `None` when the store holds none.
    pub fn header_tree(&self) -> Result<Option<XmlNode>> {
        match self.header() {
            Value::Null => Ok(None),
            tree => serde_json::from_value(tree.clone())
                .map(Some)
                .map_err(|e| ReadError::Metadata {
                    location: self.location().to_string(),
                    node: "zarr.json".into(),
                    message: format!("source.header is not an element tree: {e}"),
                }),
        }
    }

    /// Requests and bytes sent to the store since it was opened.
    pub fn stats(&self) -> RequestStats {
        self.storage.counters().snapshot()
    }

    /// The pixel → stored spectrum map, fetched once.
    pub(crate) async fn pixel_index(&self) -> Result<Arc<PixelIndex>> {
        self.pixel_index
            .get_or_try_init(|| async { self.read_pixel_index().await.map(Arc::new) })
            .await
            .cloned()
    }

    /// Refuses images of grids larger than [`MAX_IMAGE_PIXELS`]: a grid whose spectra lie far
    /// apart (or forged metadata) may span more pixels than memory holds as one image.
    pub(crate) fn check_image_size(&self) -> Result<()> {
        let grid = &self.attributes.grid;
        let pixels = grid.width.saturating_mul(grid.height).saturating_mul(grid.depth);
        if pixels > MAX_IMAGE_PIXELS {
            return Err(ReadError::Usage(format!(
                "{}: the grid of {} x {} x {} pixels is larger than an image may be ({MAX_IMAGE_PIXELS} pixels); read its spectra or regions instead",
                self.location, grid.width, grid.height, grid.depth
            )));
        }
        Ok(())
    }

    /// An image with `NaN` where no spectrum was acquired and `value(stored spectrum)` elsewhere.
    pub(crate) async fn image_from(&self, value: impl Fn(u32) -> f64) -> Result<Image> {
        self.check_image_size()?;
        let index = self.pixel_index().await?;
        let grid = &self.attributes.grid;
        let mut values = vec![f64::NAN; (grid.width * grid.height * grid.depth) as usize];
        for (pixel, s) in index.occupied() {
            values[pixel] = value(s);
        }
        Ok(Image {
            width: grid.width,
            height: grid.height,
            depth: grid.depth,
            values,
        })
    }

    /// The total ion current at every pixel.
    pub async fn tic(&self) -> Result<Image> {
        let n = self.attributes.counts.spectra;
        let tic = self.arrays.read_f64(paths::PIXELS_TIC, &[0..n]).await?;
        self.image_from(|s| tic[s as usize]).await
    }

    /// The stored spectrum number at source coordinates (x, y, z), if a spectrum was acquired.
    pub async fn spectrum_number(&self, x: i64, y: i64, z: i64) -> Result<Option<u32>> {
        let Some(linear) = self.linear_pixel(x, y, z) else {
            return Ok(None);
        };
        Ok(self.pixel_index().await?.at(linear))
    }

    /// The spectrum at source coordinates (x, y) (z of the first plane); `None` where no
    /// spectrum was acquired.
    pub async fn spectrum(&self, x: i64, y: i64) -> Result<Option<Spectrum>> {
        let z = self.attributes.grid.origin[2];
        // The pixel index and the other small index arrays the read needs, side by side.
        let (number, _) = tokio::try_join!(self.spectrum_number(x, y, z), self.spectrum_indexes())?;
        let Some(number) = number else {
            return Ok(None);
        };
        let k = number as u64;
        let (source_index, points) = tokio::try_join!(self.source_index(), self.points(k..k + 1))?;
        let source_index = u64::from(source_index[number as usize]);
        let (mz, intensity) = (points.mz_f64(0), points.intensity_f64(0));
        Ok(Some(Spectrum {
            x,
            y,
            z,
            source_index,
            mz,
            intensity,
        }))
    }

    /// Fetches (once) the index arrays a spectrum read needs besides the pixel index: the
    /// source index, and the point offsets (processed) or the shared m/z axis (continuous).
    pub(crate) async fn spectrum_indexes(&self) -> Result<()> {
        match self.attributes.mode {
            AcquisitionMode::Processed => {
                tokio::try_join!(self.source_index(), self.point_offsets())?;
            }
            AcquisitionMode::Continuous => {
                tokio::try_join!(self.source_index(), self.mz_axis_raw())?;
            }
        }
        Ok(())
    }

    /// The shared m/z axis of a continuous store as stored (bytes and Zarr type), fetched once.
    pub(crate) async fn mz_axis_raw(&self) -> Result<(Arc<Vec<u8>>, String)> {
        self.mz_axis_raw
            .get_or_try_init(|| async {
                let channels = self.arrays.shape(paths::SPECTRA_MZ)?[0];
                let (bytes, data_type) = self.arrays.read_raw(paths::SPECTRA_MZ, &[0..channels]).await?;
                Ok((Arc::new(bytes), data_type))
            })
            .await
            .cloned()
    }

    /// The shared m/z axis of a continuous store as `f64`, decoded once.
    pub(crate) async fn mz_axis(&self) -> Result<Arc<Vec<f64>>> {
        self.mz_axis
            .get_or_try_init(|| async {
                let (bytes, data_type) = self.mz_axis_raw().await?;
                let values = decode_f64(&bytes, &data_type).ok_or_else(|| ReadError::Data {
                    location: self.location.clone(),
                    array: paths::SPECTRA_MZ.into(),
                    message: format!("data type {data_type} is not numeric"),
                })?;
                Ok(Arc::new(values))
            })
            .await
            .cloned()
    }

    /// The m/z chunk index of a processed store.
    pub(crate) fn mz_chunk_index(&self) -> Result<&MzChunkIndex> {
        self.mz_chunk_index.as_ref().ok_or_else(|| ReadError::Metadata {
            location: self.location.clone(),
            node: paths::MZ_MAJOR_CHUNK_MZ_RANGE.into(),
            message: "a continuous store has no m/z chunk index".into(),
        })
    }

    /// Checks a window before it is used.
    pub(crate) fn check_window(window: &MzWindow) -> Result<()> {
        if window.is_valid() {
            Ok(())
        } else {
            Err(ReadError::Usage(format!(
                "m/z window [{}, {}] is not a finite interval",
                window.low, window.high
            )))
        }
    }
}

/// Most pixels a grid may have (a pixel index of 16 GiB).
const MAX_PIXELS: u64 = 1 << 32;

/// Largest image a query returns, in pixels (2 GiB of `f64`): grids of real acquisitions stay
/// far below it.
const MAX_IMAGE_PIXELS: u64 = 1 << 28;

/// Checks that the attribute block and the array shapes agree before any of them sizes an
/// allocation: the grid is the pixel index's shape, the spectrum count the pixel table's
/// length, the points the value arrays' size.
fn check_shapes(location: &str, attributes: &ImzarrAttributes, arrays: &Arrays) -> Result<()> {
    let mismatch = |node: &str, message: String| ReadError::Metadata {
        location: location.to_string(),
        node: node.to_string(),
        message,
    };
    let grid = &attributes.grid;
    let mut expected_index = vec![grid.height, grid.width];
    if grid.depth > 1 {
        expected_index.insert(0, grid.depth);
    }
    let index_shape = arrays.shape(paths::PIXELS_INDEX)?;
    let pixels = grid
        .width
        .checked_mul(grid.height)
        .and_then(|p| p.checked_mul(grid.depth));
    if pixels.is_none_or(|p| p > MAX_PIXELS) {
        return Err(mismatch(
            paths::PIXELS_INDEX,
            format!(
                "a grid of {} x {} x {} pixels is beyond the {MAX_PIXELS} pixels a store may have",
                grid.width, grid.height, grid.depth
            ),
        ));
    }
    if index_shape != expected_index || grid.depth == 0 {
        return Err(mismatch(
            paths::PIXELS_INDEX,
            format!(
                "shape {index_shape:?} does not match the grid {} x {} x {}",
                grid.width, grid.height, grid.depth
            ),
        ));
    }
    let spectra = attributes.counts.spectra;
    for path in [
        paths::PIXELS_X,
        paths::PIXELS_Y,
        paths::PIXELS_SOURCE_INDEX,
        paths::PIXELS_TIC,
    ] {
        let shape = arrays.shape(path)?;
        if shape != [spectra] {
            return Err(mismatch(
                path,
                format!("shape {shape:?}, but the store holds {spectra} spectra"),
            ));
        }
    }
    let points = attributes.counts.points;
    let stored_points = match attributes.mode {
        AcquisitionMode::Processed => {
            let offsets = arrays.shape(paths::PIXELS_POINT_OFFSET)?;
            if offsets != [spectra + 1] {
                return Err(mismatch(
                    paths::PIXELS_POINT_OFFSET,
                    format!("shape {offsets:?}, expected [{}]", spectra + 1),
                ));
            }
            arrays.shape(paths::SPECTRA_MZ)?.first().copied()
        }
        AcquisitionMode::Continuous => {
            let channels = arrays.shape(paths::SPECTRA_MZ)?;
            let rows = arrays.shape(paths::SPECTRA_INTENSITY)?;
            if rows.len() != 2 || rows[0] != spectra || Some(&rows[1]) != channels.first() {
                return Err(mismatch(
                    paths::SPECTRA_INTENSITY,
                    format!("shape {rows:?} does not match {spectra} spectra of {channels:?} channels"),
                ));
            }
            let mut cube = channels.clone();
            cube.extend_from_slice(&expected_index);
            let cube_shape = arrays.shape(paths::MZ_MAJOR_INTENSITY)?;
            if cube_shape != cube {
                return Err(mismatch(
                    paths::MZ_MAJOR_INTENSITY,
                    format!("shape {cube_shape:?}, expected {cube:?} (channels, then the grid)"),
                ));
            }
            rows[0].checked_mul(rows[1])
        }
    };
    if stored_points != Some(points) || arrays.shape(paths::SPECTRA_INTENSITY)?.iter().product::<u64>() != points {
        return Err(mismatch(
            paths::SPECTRA_INTENSITY,
            format!("the value arrays do not hold the {points} points the store declares"),
        ));
    }
    Ok(())
}

/// The member of `members` whose key (`key_of`) is `key`, or a usage error that names the
/// `kind` of member (`spectrum term`, `other binary array`) and the keys the store has.
pub(crate) fn member_by_key<'a, T>(
    members: &'a [T],
    key: &str,
    key_of: impl Fn(&T) -> &str,
    kind: &str,
) -> Result<&'a T> {
    members.iter().find(|member| key_of(member) == key).ok_or_else(|| {
        let known: Vec<&str> = members.iter().map(&key_of).collect();
        ReadError::Usage(format!(
            "the store has no {kind} {key:?} (it has [{}])",
            known.join(", ")
        ))
    })
}
