//! The pixel grid taken from the coordinates, which win over the header's declaration.

use crate::model::{DeclaredGrid, Quirk, SpectrumEntry};

/// The bounding box of the coordinates: origin (smallest x, y, z) and extent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Grid {
    /// Smallest x, y, z as written in the file.
    pub origin: [i64; 3],
    /// Pixels along x.
    pub width: u64,
    /// Pixels along y.
    pub height: u64,
    /// Pixels along z (1 for 2-D data).
    pub depth: u64,
}

impl Grid {
    /// The grid of `spectra` (which must not be empty).
    pub fn from_spectra(spectra: &[SpectrumEntry]) -> Self {
        let mut min = [i64::MAX; 3];
        let mut max = [i64::MIN; 3];
        for s in spectra {
            for (axis, value) in [s.x, s.y, s.z].into_iter().enumerate() {
                min[axis] = min[axis].min(value);
                max[axis] = max[axis].max(value);
            }
        }
        let extent = |axis: usize| (max[axis] - min[axis] + 1) as u64;
        Grid {
            origin: min,
            width: extent(0),
            height: extent(1),
            depth: extent(2),
        }
    }

    /// Grid position of a spectrum (0-based `[x, y, z]`).
    pub fn position(&self, spectrum: &SpectrumEntry) -> [u64; 3] {
        [
            (spectrum.x - self.origin[0]) as u64,
            (spectrum.y - self.origin[1]) as u64,
            (spectrum.z - self.origin[2]) as u64,
        ]
    }

    /// Number of pixels in the grid.
    pub fn pixel_count(&self) -> u64 {
        self.width * self.height * self.depth
    }

    /// Records where the declared grid disagrees with the coordinates.
    pub fn compare_with_declaration(&self, declared: &DeclaredGrid, quirks: &mut Vec<Quirk>) {
        let declared_size = (declared.max_count_x, declared.max_count_y);
        if let (Some(x), Some(y)) = declared_size
            && (x, y) != (self.width, self.height)
        {
            Quirk::new(
                "grid-from-coordinates",
                format!(
                    "the header declares a {x}x{y} grid; the coordinates span {}x{} from ({}, {}); the coordinates win",
                    self.width, self.height, self.origin[0], self.origin[1]
                ),
            )
            .record(quirks);
        }
        if self.origin[0] != 1 || self.origin[1] != 1 {
            Quirk::new(
                "offset-coordinates",
                format!(
                    "coordinates start at ({}, {}) rather than (1, 1)",
                    self.origin[0], self.origin[1]
                ),
            )
            .record(quirks);
        }
    }
}
