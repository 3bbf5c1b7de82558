//! What queries return.

use imzarr_format::MzWindow;

/// A 2-D (or 3-D) image on the pixel grid, row-major `[z][y][x]`. Pixels where no spectrum
/// was acquired are `NaN`, never zero.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Pixels along x.
    pub width: u64,
    /// Pixels along y.
    pub height: u64,
    /// Pixels along z (1 for 2-D data).
    pub depth: u64,
    /// `depth * height * width` values.
    pub values: Vec<f64>,
}

impl Image {
    /// The value at grid position (x, y, z), 0-based.
    pub fn get(&self, x: u64, y: u64, z: u64) -> Option<f64> {
        (x < self.width && y < self.height && z < self.depth)
            .then(|| self.values[((z * self.height + y) * self.width + x) as usize])
    }
}

/// How the intensities of the points of a pixel inside a window combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Aggregation {
    /// Sum of the intensities (the usual ion image).
    #[default]
    Sum,
    /// Largest intensity.
    Max,
}

/// An ion image: the intensity of an m/z window at every pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct IonImage {
    /// The window asked for.
    pub window: MzWindow,
    /// The image: 0 where a spectrum has no point in the window, `NaN` where no spectrum was
    /// acquired.
    pub image: Image,
    /// Smallest and largest m/z of the points that fell in the window (`None` when none did).
    pub mz_covered: Option<[f64; 2]>,
    /// Number of points that fell in the window.
    pub points: u64,
}

/// One spectrum.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrum {
    /// x as written in the source imzML.
    pub x: i64,
    /// y as written in the source imzML.
    pub y: i64,
    /// z as written in the source imzML.
    pub z: i64,
    /// Index of the spectrum in the source imzML.
    pub source_index: u64,
    /// m/z values (exact for every stored type but 64-bit integers above 2^53).
    pub mz: Vec<f64>,
    /// Intensities.
    pub intensity: Vec<f64>,
}
