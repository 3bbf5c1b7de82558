//! The per-spectrum tables and the pixel index.

use imzarr_format::{NO_SPECTRUM, paths};
use serde_json::json;

use crate::error::Result;
use crate::layout;
use crate::options::ConvertOptions;
use crate::source::Source;
use crate::spatial_shards::write_scattered;
use crate::spectrum_stats::SpectrumStats;
use crate::spectrum_terms;
use crate::store_writer::StoreWriter;

const TABLE_CHUNK: u64 = 16384;

async fn write_table(
    store: &mut StoreWriter,
    path: &str,
    data_type: &'static str,
    values: Vec<u8>,
    element_size: u64,
    options: &ConvertOptions,
) -> Result<()> {
    let len = values.len() as u64 / element_size;
    let fill = if data_type == "float64" { json!("NaN") } else { json!(0) };
    let spec = layout::vector(len, data_type, element_size, TABLE_CHUNK, fill, "spectrum", options);
    let array = store.create_array(path, spec).await?;
    let fill_bytes = if data_type == "float64" {
        f64::NAN.to_le_bytes().to_vec()
    } else {
        vec![0u8; element_size as usize]
    };
    store.write_full(&array, &values, &fill_bytes).await
}

pub(crate) async fn write(
    source: &Source,
    stats: &SpectrumStats,
    processed: bool,
    store: &mut StoreWriter,
    options: &ConvertOptions,
) -> Result<()> {
    let u32s = |f: &dyn Fn(usize) -> u64| -> Vec<u8> {
        source.order.iter().flat_map(|&i| (f(i) as u32).to_le_bytes()).collect()
    };
    write_table(
        store,
        paths::PIXELS_X,
        "uint32",
        u32s(&|i| source.positions[i][0]),
        4,
        options,
    )
    .await?;
    write_table(
        store,
        paths::PIXELS_Y,
        "uint32",
        u32s(&|i| source.positions[i][1]),
        4,
        options,
    )
    .await?;
    if source.grid.depth > 1 {
        write_table(
            store,
            paths::PIXELS_Z,
            "uint32",
            u32s(&|i| source.positions[i][2]),
            4,
            options,
        )
        .await?;
    }
    write_table(
        store,
        paths::PIXELS_SOURCE_INDEX,
        "uint32",
        u32s(&|i| source.imzml.spectra[i].index as u64),
        4,
        options,
    )
    .await?;
    let tic: Vec<u8> = stats.tic.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_table(store, paths::PIXELS_TIC, "float64", tic, 8, options).await?;
    let counts: Vec<u8> = stats.point_count.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_table(store, paths::PIXELS_POINT_COUNT, "uint64", counts, 8, options).await?;
    if processed {
        let mut offsets = Vec::with_capacity((stats.point_count.len() + 1) * 8);
        let mut running = 0u64;
        offsets.extend_from_slice(&running.to_le_bytes());
        for count in &stats.point_count {
            running += count;
            offsets.extend_from_slice(&running.to_le_bytes());
        }
        write_table(store, paths::PIXELS_POINT_OFFSET, "uint64", offsets, 8, options).await?;
    }
    for (path, values) in spectrum_terms::arrays(&source.imzml, &source.order) {
        write_table(store, &path, "float64", values, 8, options).await?;
    }

    let spatial = source.spatial_shape();
    let stored: Vec<u8> = (0..source.order.len() as u32).flat_map(u32::to_le_bytes).collect();
    let spec = layout::spatial(&spatial, "uint32", json!(NO_SPECTRUM), options);
    let array = store.create_array(paths::PIXELS_INDEX, spec).await?;
    let fill = NO_SPECTRUM.to_le_bytes();
    let pixel = |k: usize| source.positions[source.order[k]];
    write_scattered(store, &array, pixel, &stored, &fill, spatial.len()).await
}
