//! Binary data types and compressions of imzML arrays, and decoding of their bytes.

use half::f16;

/// The numeric type of an imzML binary array, as declared by its precision term.
///
/// Values are little-endian in the `.ibd` file, as imzML requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    /// `MS:1000520` 16-bit float.
    F16,
    /// `MS:1000521` 32-bit float.
    F32,
    /// `MS:1000523` 64-bit float.
    F64,
    /// `IMS:1100000` 8-bit integer.
    I8,
    /// `IMS:1100001` 16-bit integer.
    I16,
    /// `MS:1000519` 32-bit integer.
    I32,
    /// `MS:1000522` 64-bit integer.
    I64,
}

impl DataType {
    /// Every data type, in a fixed order.
    pub const ALL: [DataType; 7] = [
        DataType::F16,
        DataType::F32,
        DataType::F64,
        DataType::I8,
        DataType::I16,
        DataType::I32,
        DataType::I64,
    ];

    /// The data type a precision accession declares, if the accession is one.
    pub fn from_accession(accession: &str) -> Option<Self> {
        Some(match accession {
            "MS:1000520" => DataType::F16,
            "MS:1000521" => DataType::F32,
            "MS:1000523" => DataType::F64,
            "IMS:1100000" => DataType::I8,
            "IMS:1100001" => DataType::I16,
            // imzML 1.1's own terms for the integer types, still written by some tools.
            "MS:1000519" | "IMS:1000141" => DataType::I32,
            "MS:1000522" | "IMS:1000142" => DataType::I64,
            _ => return None,
        })
    }

    /// The accession that declares this data type.
    pub fn accession(self) -> &'static str {
        match self {
            DataType::F16 => "MS:1000520",
            DataType::F32 => "MS:1000521",
            DataType::F64 => "MS:1000523",
            DataType::I8 => "IMS:1100000",
            DataType::I16 => "IMS:1100001",
            DataType::I32 => "MS:1000519",
            DataType::I64 => "MS:1000522",
        }
    }

    /// The type a term's name gives (`64-bit float`, `32-bit integer`, ...; any case and
    /// spacing around it).
    pub fn from_cv_name(name: &str) -> Option<Self> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|dtype| dtype.cv_name().eq_ignore_ascii_case(name))
    }

    /// The term's name as the controlled vocabulary spells it.
    pub fn cv_name(self) -> &'static str {
        match self {
            DataType::F16 => "16-bit float",
            DataType::F32 => "32-bit float",
            DataType::F64 => "64-bit float",
            DataType::I8 => "8-bit integer",
            DataType::I16 => "16-bit integer",
            DataType::I32 => "32-bit integer",
            DataType::I64 => "64-bit integer",
        }
    }

    /// Bytes per value.
    pub fn size(self) -> usize {
        match self {
            DataType::I8 => 1,
            DataType::F16 | DataType::I16 => 2,
            DataType::F32 | DataType::I32 => 4,
            DataType::F64 | DataType::I64 => 8,
        }
    }

    /// The Zarr v3 data type name of the same values.
    pub fn zarr_name(self) -> &'static str {
        match self {
            DataType::F16 => "float16",
            DataType::F32 => "float32",
            DataType::F64 => "float64",
            DataType::I8 => "int8",
            DataType::I16 => "int16",
            DataType::I32 => "int32",
            DataType::I64 => "int64",
        }
    }

    /// The data type whose Zarr v3 name is `name`.
    pub fn from_zarr_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.zarr_name() == name)
    }

    /// Decodes the value at the start of `bytes` (little-endian) as `f64`.
    ///
    /// `bytes` must hold at least [`DataType::size`] bytes. 64-bit integers above 2^53 lose
    /// precision in the conversion; the stored bytes are never converted.
    #[inline]
    pub fn read_f64(self, bytes: &[u8]) -> f64 {
        match self {
            DataType::F16 => f16::from_le_bytes([bytes[0], bytes[1]]).to_f64(),
            DataType::F32 => f32::from_le_bytes(take(bytes)) as f64,
            DataType::F64 => f64::from_le_bytes(take(bytes)),
            DataType::I8 => bytes[0] as i8 as f64,
            DataType::I16 => i16::from_le_bytes([bytes[0], bytes[1]]) as f64,
            DataType::I32 => i32::from_le_bytes(take(bytes)) as f64,
            DataType::I64 => i64::from_le_bytes(take(bytes)) as f64,
        }
    }

    /// Encodes `value` as this type, little-endian, appending to `out`.
    ///
    /// Used by the writer and the synthetic-data generator; values outside an integer type's
    /// range saturate.
    pub fn write_f64(self, value: f64, out: &mut Vec<u8>) {
        match self {
            DataType::F16 => out.extend_from_slice(&f16::from_f64(value).to_le_bytes()),
            DataType::F32 => out.extend_from_slice(&(value as f32).to_le_bytes()),
            DataType::F64 => out.extend_from_slice(&value.to_le_bytes()),
            DataType::I8 => out.extend_from_slice(&(value as i8).to_le_bytes()),
            DataType::I16 => out.extend_from_slice(&(value as i16).to_le_bytes()),
            DataType::I32 => out.extend_from_slice(&(value as i32).to_le_bytes()),
            DataType::I64 => out.extend_from_slice(&(value as i64).to_le_bytes()),
        }
    }
}

fn take<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

/// How an array's bytes are compressed in the `.ibd` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// `MS:1000576` no compression.
    None,
    /// `MS:1000574` zlib compression.
    Zlib,
}

/// Raw little-endian values of one array, decompressed, with their type.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayBytes {
    /// The values' type.
    pub dtype: DataType,
    /// `len() * dtype.size()` bytes, little-endian.
    pub bytes: Vec<u8>,
}

impl ArrayBytes {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.bytes.len() / self.dtype.size()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The value at `index`, as `f64`.
    pub fn get_f64(&self, index: usize) -> f64 {
        let size = self.dtype.size();
        self.dtype.read_f64(&self.bytes[index * size..])
    }

    /// All values as `f64`.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        let mut values = Vec::with_capacity(self.len());
        self.for_each_f64(|value| values.push(value));
        values
    }

    /// The sum of the values as `f64` (`-0.0` for none). The values are added in eight
    /// running sums, added up at the end: a single running sum is a chain of dependent
    /// additions, eight vectorize. The result differs from a sum in order by rounding only.
    pub fn sum_f64(&self) -> f64 {
        #[inline(always)]
        fn lanes<const N: usize>(bytes: &[u8], dtype: DataType) -> f64 {
            let (values, _) = bytes.as_chunks::<N>();
            let (groups, rest) = values.as_chunks::<8>();
            let mut sums = [-0.0f64; 8];
            for group in groups {
                for (sum, value) in sums.iter_mut().zip(group) {
                    *sum += dtype.read_f64(value);
                }
            }
            let total = sums.iter().fold(-0.0, |total, sum| total + sum);
            rest.iter().fold(total, |total, value| total + dtype.read_f64(value))
        }
        let bytes = &self.bytes;
        match self.dtype {
            DataType::I8 => lanes::<1>(bytes, DataType::I8),
            DataType::F16 => lanes::<2>(bytes, DataType::F16),
            DataType::I16 => lanes::<2>(bytes, DataType::I16),
            DataType::F32 => lanes::<4>(bytes, DataType::F32),
            DataType::I32 => lanes::<4>(bytes, DataType::I32),
            DataType::F64 => lanes::<8>(bytes, DataType::F64),
            DataType::I64 => lanes::<8>(bytes, DataType::I64),
        }
    }

    /// Calls `each` with every value as `f64`, in order; the type is dispatched once, not per
    /// value (each arm hands [`DataType::read_f64`] a constant type, which the compiler folds).
    pub fn for_each_f64(&self, mut each: impl FnMut(f64)) {
        #[inline(always)]
        fn values<const N: usize>(bytes: &[u8], dtype: DataType, each: &mut impl FnMut(f64)) {
            bytes
                .as_chunks::<N>()
                .0
                .iter()
                .for_each(|value| each(dtype.read_f64(value)));
        }
        let bytes = &self.bytes;
        match self.dtype {
            DataType::I8 => values::<1>(bytes, DataType::I8, &mut each),
            DataType::F16 => values::<2>(bytes, DataType::F16, &mut each),
            DataType::I16 => values::<2>(bytes, DataType::I16, &mut each),
            DataType::F32 => values::<4>(bytes, DataType::F32, &mut each),
            DataType::I32 => values::<4>(bytes, DataType::I32, &mut each),
            DataType::F64 => values::<8>(bytes, DataType::F64, &mut each),
            DataType::I64 => values::<8>(bytes, DataType::I64, &mut each),
        }
    }

    /// Builds an array of `dtype` from `f64` values (saturating for integer types).
    pub fn from_f64(dtype: DataType, values: &[f64]) -> Self {
        let mut bytes = Vec::with_capacity(values.len() * dtype.size());
        for &value in values {
            dtype.write_f64(value, &mut bytes);
        }
        Self { dtype, bytes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_exact_for_small_integers_of_every_dtype_and_length() {
        for dtype in DataType::ALL {
            for n in 0..40 {
                let values: Vec<f64> = (0..n).map(|i| ((i * 7) % 23) as f64 - 11.0).collect();
                let array = ArrayBytes::from_f64(dtype, &values);
                let expected: f64 = values.iter().sum();
                assert_eq!(array.sum_f64(), expected, "{dtype:?}, {n} values");
            }
        }
        assert!(ArrayBytes::from_f64(DataType::F32, &[]).sum_f64().is_sign_negative());
        assert!(
            ArrayBytes::from_f64(DataType::F32, &[-0.0; 9])
                .sum_f64()
                .is_sign_negative()
        );
    }

    proptest::proptest! {
        #[test]
        fn sums_differ_from_an_in_order_sum_by_rounding_only(values in proptest::collection::vec(-1e6f64..1e6, 0..200)) {
            let array = ArrayBytes::from_f64(DataType::F64, &values);
            let in_order: f64 = values.iter().sum();
            let magnitude: f64 = values.iter().map(|v| v.abs()).sum();
            proptest::prop_assert!((array.sum_f64() - in_order).abs() <= 1e-12 * magnitude.max(1.0));
        }
    }

    #[test]
    fn every_dtype_round_trips_small_integers() {
        for dtype in DataType::ALL {
            let values = [0.0, 1.0, -2.0, 100.0];
            let array = ArrayBytes::from_f64(dtype, &values);
            assert_eq!(array.len(), values.len());
            assert_eq!(array.to_f64_vec(), values, "{dtype:?}");
            assert_eq!(DataType::from_accession(dtype.accession()), Some(dtype));
        }
    }

    #[test]
    fn unknown_accession_is_not_a_dtype() {
        assert_eq!(DataType::from_accession("MS:1000514"), None);
    }
}
