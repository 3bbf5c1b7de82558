//! OME-Zarr 0.5 multiscale image metadata.

use serde_json::{Value, json};

/// Shapes `(height, width)` of the pyramid levels of an image: level 0 is full size, each next
/// level halves both sides (rounding up), until the larger side is at most 256 pixels.
pub fn multiscale_levels(height: u64, width: u64) -> Vec<(u64, u64)> {
    let mut levels = vec![(height, width)];
    let (mut h, mut w) = (height, width);
    while h.max(w) > 256 {
        h = h.div_ceil(2);
        w = w.div_ceil(2);
        levels.push((h, w));
    }
    levels
}

/// The `ome` attribute of a multiscale image group with axes `first_axis, [z,] y, x` and one
/// dataset per entry of `paths`, each level halving y and x. `pixel_size_um` is `(x, y)` in
/// micrometres, if known.
fn multiscales(
    name: &str,
    first_axis: Value,
    paths: &[String],
    has_z: bool,
    pixel_size_um: Option<(f64, f64)>,
) -> Value {
    let (px, py, unit) = match pixel_size_um {
        Some((x, y)) => (x, y, Some("micrometer")),
        None => (1.0, 1.0, None),
    };
    let space_axis = |axis: &str| match unit {
        Some(unit) => json!({"name": axis, "type": "space", "unit": unit}),
        None => json!({"name": axis, "type": "space"}),
    };
    let mut axes = vec![first_axis];
    if has_z {
        axes.push(space_axis("z"));
    }
    axes.push(space_axis("y"));
    axes.push(space_axis("x"));
    let datasets: Vec<Value> = paths
        .iter()
        .enumerate()
        .map(|(level, path)| {
            let factor = (1u64 << level) as f64;
            let mut scale = vec![1.0];
            if has_z {
                scale.push(1.0);
            }
            scale.extend([py * factor, px * factor]);
            json!({"path": path, "coordinateTransformations": [{"type": "scale", "scale": scale}]})
        })
        .collect();
    json!({"version": "0.5", "multiscales": [{"name": name, "axes": axes, "datasets": datasets}]})
}

/// The `ome` attribute of a one-channel image pyramid (`c, [z,] y, x`) with levels `0`, `1`, ...
pub fn ome_multiscales(name: &str, level_count: usize, has_z: bool, pixel_size_um: Option<(f64, f64)>) -> Value {
    let paths: Vec<String> = (0..level_count).map(|level| level.to_string()).collect();
    multiscales(
        name,
        json!({"name": "c", "type": "channel"}),
        &paths,
        has_z,
        pixel_size_um,
    )
}

/// The `ome` attribute that makes the continuous m/z-major cube (`mz, [z,] y, x`, dataset
/// `array`) an OME-Zarr image with a custom-typed `mz` axis.
pub fn ome_mz_cube(array: &str, has_z: bool, pixel_size_um: Option<(f64, f64)>) -> Value {
    multiscales(
        "mz_major",
        json!({"name": "mz", "type": "mz"}),
        &[array.to_string()],
        has_z,
        pixel_size_um,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyramid_stops_at_256() {
        assert_eq!(multiscale_levels(100, 40), vec![(100, 40)]);
        assert_eq!(multiscale_levels(1000, 300), vec![(1000, 300), (500, 150), (250, 75)]);
    }

    #[test]
    fn scales_double_per_level() {
        let ome = ome_multiscales("tic", 2, false, Some((20.0, 10.0)));
        assert_eq!(
            ome["multiscales"][0]["datasets"][1]["coordinateTransformations"][0]["scale"],
            json!([1.0, 20.0, 40.0])
        );
        assert_eq!(ome["multiscales"][0]["axes"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn the_cube_has_an_mz_axis() {
        let ome = ome_mz_cube("intensity", true, None);
        let axes = ome["multiscales"][0]["axes"].as_array().unwrap();
        assert_eq!(axes[0], json!({"name": "mz", "type": "mz"}));
        assert_eq!(axes.len(), 4);
        assert_eq!(ome["multiscales"][0]["datasets"][0]["path"], "intensity");
    }
}
