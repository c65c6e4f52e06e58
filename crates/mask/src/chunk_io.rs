//! The `ChunkReader`s the Parquet masker reads through ([`crate::columnar`]): one input shared
//! by the file reader and the column copies, and one column chunk already read into memory
//! (so a worker decodes it without touching the input).

use std::sync::Arc;

use bytes::Bytes;
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};

/// A chunk reader shared between the file reader and the column copies.
pub(crate) struct Shared<R>(pub(crate) Arc<R>);

impl<R: ChunkReader> Length for Shared<R> {
    fn len(&self) -> u64 {
        self.0.len()
    }
}

impl<R: ChunkReader> ChunkReader for Shared<R> {
    type T = R::T;

    fn get_read(&self, start: u64) -> parquet::errors::Result<R::T> {
        self.0.get_read(start)
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.0.get_bytes(start, length)
    }
}

/// A column chunk read into memory, at its offset in the file.
pub(crate) struct InMemory {
    pub(crate) start: u64,
    pub(crate) bytes: Bytes,
}

impl InMemory {
    fn range(&self, start: u64, length: usize) -> parquet::errors::Result<std::ops::Range<usize>> {
        let from = start
            .checked_sub(self.start)
            .map(|f| f as usize)
            .filter(|&f| f.saturating_add(length) <= self.bytes.len());
        from.map(|f| f..f + length).ok_or_else(|| {
            ParquetError::General(format!(
                "bytes {start}..+{length} are outside the column chunk read at {}",
                self.start
            ))
        })
    }
}

impl Length for InMemory {
    fn len(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }
}

impl ChunkReader for InMemory {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let rest = self.bytes.len() - self.range(start, 0)?.start;
        let range = self.range(start, rest)?;
        Ok(bytes::Buf::reader(self.bytes.slice(range)))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        Ok(self.bytes.slice(self.range(start, length)?))
    }
}
