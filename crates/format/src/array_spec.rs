//! Zarr v3 array metadata (`zarr.json`) of imzarr arrays: sharded, compressed inner chunks
//! (blosc, or pcodec when asked for), every inner chunk and every shard index protected by
//! crc32c.

use serde_json::{Map, Value, json};

/// Compression of the inner chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Codec {
    /// blosc with lz4: fast. (The shuffle is chosen per array: see [`Shuffle`].)
    BloscLz4 {
        /// Level 0-9.
        level: u8,
    },
    /// blosc with zstd: smaller.
    BloscZstd {
        /// Level 0-9.
        level: u8,
    },
    /// pcodec (`numcodecs.pcodec`, format 1.4): smallest on numbers, slowest. Arrays of 8-bit
    /// integers, which pcodec does not take, get blosc-zstd at the same level (at most 9).
    Pcodec {
        /// Level 0-12.
        level: u8,
    },
}

impl Default for Codec {
    fn default() -> Self {
        Codec::BloscLz4 { level: 5 }
    }
}

impl Codec {
    /// The codec of columns of small ascending integers (the spectrum numbers of the m/z-major
    /// layout): zstd, at the level asked for if zstd was asked for, else level 1. It stores
    /// them in a quarter less than lz4 on generated data and in half on real files.
    pub fn for_ascending_integers(self) -> Self {
        match self {
            Codec::BloscLz4 { .. } => Codec::BloscZstd { level: 1 },
            other @ (Codec::BloscZstd { .. } | Codec::Pcodec { .. }) => other,
        }
    }

    /// The codec of the images that viewers open (`images/`): the codec asked for, but blosc
    /// instead of pcodec, which viewers without numcodecs' pcodec cannot read.
    pub fn for_viewers(self) -> Self {
        match self {
            Codec::Pcodec { .. } => Codec::default(),
            blosc => blosc,
        }
    }

    /// Whether blosc compresses the inner chunks (and a [`Shuffle`] applies).
    pub fn is_blosc(self) -> bool {
        !matches!(self, Codec::Pcodec { .. })
    }

    /// The `codecs` of an inner chunk of `data_type` (`element_size` bytes per element):
    /// bytes and blosc (`shuffle`d), or pcodec (told the `order` of the values), then crc32c.
    fn inner_codecs(self, data_type: &str, element_size: usize, shuffle: Shuffle, order: ValueOrder) -> Vec<Value> {
        let little_endian = json!({"name": "bytes", "configuration": {"endian": "little"}});
        let blosc = |cname: &str, clevel: u8| {
            json!({
                "name": "blosc",
                "configuration": {"cname": cname, "clevel": clevel.min(9), "shuffle": shuffle.name(), "typesize": element_size, "blocksize": 0}
            })
        };
        let checksum = json!({"name": "crc32c"});
        match self {
            Codec::BloscLz4 { level } => vec![little_endian, blosc("lz4", level), checksum],
            Codec::BloscZstd { level } => vec![little_endian, blosc("zstd", level), checksum],
            Codec::Pcodec { level } if pcodec_takes(data_type) => {
                let (delta_spec, delta_encoding_order) = order.pcodec_delta();
                vec![pcodec(level, delta_spec, delta_encoding_order), checksum]
            }
            Codec::Pcodec { level } => vec![little_endian, blosc("zstd", level), checksum],
        }
    }
}

/// The pcodec codec at `level`, with the given delta encoding.
fn pcodec(level: u8, delta_spec: &str, delta_encoding_order: Value) -> Value {
    json!({
        "name": PCODEC_NAME,
        "configuration": {
            "level": level.min(PCODEC_MAX_LEVEL),
            "mode_spec": "auto",
            "delta_spec": delta_spec,
            "paging_spec": "equal_pages_up_to",
            "delta_encoding_order": delta_encoding_order,
            "equal_pages_up_to": PCODEC_PAGE_VALUES
        }
    })
}

/// The Zarr v3 name of the pcodec codec, as zarr-python (numcodecs) and zarrs spell it.
pub const PCODEC_NAME: &str = "numcodecs.pcodec";

/// pcodec's highest level.
const PCODEC_MAX_LEVEL: u8 = 12;

/// Values per pcodec page (pcodec's default): larger than any inner chunk imzarr writes, so a
/// chunk is one page.
const PCODEC_PAGE_VALUES: u64 = 262_144;

/// Whether pcodec takes elements of `data_type`: 16-, 32- and 64-bit integers and floats.
fn pcodec_takes(data_type: &str) -> bool {
    !matches!(data_type, "int8" | "uint8" | "bool")
}

/// How blosc reorders the bytes of an inner chunk before compressing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shuffle {
    /// The k-th bytes of all elements together: runs of equal values (zeros) stay runs.
    #[default]
    Byte,
    /// The k-th bits of all elements together: smaller for noisy values whose high bits
    /// (sign, exponent) repeat.
    Bit,
}

impl Shuffle {
    /// The name in blosc's Zarr configuration.
    pub fn name(self) -> &'static str {
        match self {
            Shuffle::Byte => "shuffle",
            Shuffle::Bit => "bitshuffle",
        }
    }
}

/// What is known of the order of an array's values within an inner chunk: codecs that can
/// encode differences (pcodec) skip the search for the best kind where it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValueOrder {
    /// Unknown: the codec tries.
    #[default]
    Unknown,
    /// Ascending runs (spectrum numbers of the m/z-major layout): differences are small.
    Ascending,
    /// Unrelated neighbours (the values of different spectra side by side): differences are as
    /// large as the values.
    Unrelated,
}

impl ValueOrder {
    /// pcodec's `delta_spec` and `delta_encoding_order` for values in this order.
    fn pcodec_delta(self) -> (&'static str, Value) {
        match self {
            ValueOrder::Unknown => ("auto", Value::Null),
            ValueOrder::Ascending => ("try_consecutive", json!(1)),
            ValueOrder::Unrelated => ("none", Value::Null),
        }
    }
}

/// Everything that defines one imzarr array.
#[derive(Debug, Clone, PartialEq)]
pub struct ArraySpec {
    /// Array shape.
    pub shape: Vec<u64>,
    /// Zarr v3 data type name (`float32`, `uint32`, ...).
    pub data_type: &'static str,
    /// Shard (stored object) shape; a multiple of `inner_shape`.
    pub shard_shape: Vec<u64>,
    /// Inner chunk shape: the unit of reading.
    pub inner_shape: Vec<u64>,
    /// Fill value, in Zarr v3 JSON form.
    pub fill_value: Value,
    /// Names of the dimensions.
    pub dimension_names: Vec<&'static str>,
    /// Inner-chunk compression.
    pub codec: Codec,
    /// Inner-chunk shuffle before compression.
    pub shuffle: Shuffle,
    /// The order of the values within an inner chunk, where it is known.
    pub value_order: ValueOrder,
    /// User attributes.
    pub attributes: Map<String, Value>,
}

impl ArraySpec {
    /// A spec whose inner chunks are `inner_shape` (each dimension at least 1 and at most the
    /// shape) and whose shards hold at most `inner_per_shard` inner chunks along each dimension,
    /// as evenly as the shape allows.
    pub fn new(
        shape: Vec<u64>,
        data_type: &'static str,
        inner_shape: Vec<u64>,
        inner_per_shard: Vec<u64>,
        fill_value: Value,
        dimension_names: Vec<&'static str>,
        codec: Codec,
    ) -> Self {
        let inner_shape: Vec<u64> = inner_shape.iter().zip(&shape).map(|(&c, &s)| c.min(s).max(1)).collect();
        let shard_shape: Vec<u64> = inner_shape
            .iter()
            .zip(&shape)
            .zip(&inner_per_shard)
            .map(|((&c, &s), &n)| {
                // As few shards as `n` inner chunks each allow, the chunks spread evenly among
                // them: the last shard's index is then not mostly padding.
                let needed = s.div_ceil(c).max(1);
                let shards = needed.div_ceil(n.clamp(1, needed));
                c * needed.div_ceil(shards)
            })
            .collect();
        Self {
            shape,
            data_type,
            shard_shape,
            inner_shape,
            fill_value,
            dimension_names,
            codec,
            shuffle: Shuffle::default(),
            value_order: ValueOrder::default(),
            attributes: Map::new(),
        }
    }

    /// The same array with inner chunks shuffled by `shuffle`.
    pub fn with_shuffle(mut self, shuffle: Shuffle) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// The same array, its values within an inner chunk in `order`.
    pub fn with_value_order(mut self, order: ValueOrder) -> Self {
        self.value_order = order;
        self
    }

    /// Bytes of one whole (uncompressed) shard.
    pub fn shard_bytes(&self) -> usize {
        self.shard_shape.iter().product::<u64>() as usize * self.element_size()
    }

    /// Bytes per element.
    pub fn element_size(&self) -> usize {
        match self.data_type {
            "int8" | "uint8" => 1,
            "int16" | "uint16" | "float16" => 2,
            "int32" | "uint32" | "float32" => 4,
            _ => 8,
        }
    }

    /// Number of shards along each dimension.
    pub fn shard_grid(&self) -> Vec<u64> {
        self.shape
            .iter()
            .zip(&self.shard_shape)
            .map(|(&s, &c)| s.div_ceil(c))
            .collect()
    }

    /// The `zarr.json` document of the array.
    pub fn metadata(&self) -> Value {
        json!({
            "zarr_format": 3,
            "node_type": "array",
            "shape": self.shape,
            "data_type": self.data_type,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": self.shard_shape}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": self.fill_value,
            "codecs": [{
                "name": "sharding_indexed",
                "configuration": {
                    "chunk_shape": self.inner_shape,
                    "codecs": self.codec.inner_codecs(self.data_type, self.element_size(), self.shuffle, self.value_order),
                    "index_codecs": [
                        {"name": "bytes", "configuration": {"endian": "little"}},
                        {"name": "crc32c"}
                    ],
                    "index_location": "start"
                }
            }],
            "attributes": self.attributes,
            "dimension_names": self.dimension_names,
        })
    }
}

/// The `zarr.json` document of a group with `attributes`.
pub fn group_metadata(attributes: Map<String, Value>) -> Value {
    json!({"zarr_format": 3, "node_type": "group", "attributes": attributes})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_whole_multiples_of_inner_chunks_and_never_larger_than_needed() {
        let spec = ArraySpec::new(
            vec![1000],
            "float64",
            vec![64],
            vec![4],
            json!(0.0),
            vec!["point"],
            Codec::default(),
        );
        assert_eq!(spec.inner_shape, vec![64]);
        assert_eq!(spec.shard_shape, vec![256]);
        assert_eq!(spec.shard_grid(), vec![4]);
        let tiny = ArraySpec::new(
            vec![10, 3],
            "uint32",
            vec![64, 64],
            vec![8, 8],
            json!(0),
            vec!["y", "x"],
            Codec::default(),
        );
        assert_eq!(tiny.inner_shape, vec![10, 3]);
        assert_eq!(tiny.shard_shape, vec![10, 3]);
        let metadata = tiny.metadata();
        assert_eq!(
            metadata["codecs"][0]["configuration"]["codecs"][1]["configuration"]["typesize"],
            4
        );
    }

    #[test]
    fn pcodec_replaces_bytes_and_blosc_but_for_8_bit_integers() {
        let codecs = |data_type: &'static str, level: u8| {
            let spec = ArraySpec::new(
                vec![100],
                data_type,
                vec![10],
                vec![10],
                json!(0),
                vec!["point"],
                Codec::Pcodec { level },
            );
            spec.metadata()["codecs"][0]["configuration"]["codecs"].clone()
        };
        let float = codecs("float32", 5);
        assert_eq!(float[0]["name"], PCODEC_NAME);
        assert_eq!(float[0]["configuration"]["level"], 5);
        assert_eq!(float[1]["name"], "crc32c");
        assert_eq!(float.as_array().unwrap().len(), 2);
        assert_eq!(codecs("int64", 20)[0]["configuration"]["level"], 12);
        let bytes = codecs("uint8", 12);
        assert_eq!(bytes[1]["name"], "blosc");
        assert_eq!(bytes[1]["configuration"]["cname"], "zstd");
        assert_eq!(bytes[1]["configuration"]["clevel"], 9);
        assert_eq!(Codec::Pcodec { level: 5 }.for_viewers(), Codec::default());
        assert_eq!(
            Codec::Pcodec { level: 5 }.for_ascending_integers(),
            Codec::Pcodec { level: 5 }
        );
    }

    #[test]
    fn empty_arrays_still_have_valid_chunks() {
        let spec = ArraySpec::new(
            vec![0],
            "float32",
            vec![64],
            vec![4],
            json!(0.0),
            vec!["point"],
            Codec::default(),
        );
        assert_eq!(spec.inner_shape, vec![1]);
        assert_eq!(spec.shard_grid(), vec![0]);
    }
}
