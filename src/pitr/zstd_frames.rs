//! Reading a zstd file with `ruzstd` (the one module that uses it): every
//! frame of the file in turn, as the `zstd` tool writes concatenated files,
//! skippable frames skipped and each frame's content checksum checked.

use std::io::{self, BufRead, Read};

use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};

/// The decompressed bytes of every frame of `source`, as one stream.
pub struct ZstdFrames<R> {
    source: R,
    decoder: FrameDecoder,
    /// A frame is started and not yet drained.
    in_frame: bool,
}

impl<R: BufRead> ZstdFrames<R> {
    pub fn new(source: R) -> ZstdFrames<R> {
        ZstdFrames {
            source,
            decoder: FrameDecoder::new(),
            in_frame: false,
        }
    }

    /// Reads from the current frame: `Ok(0)` once it is decoded and drained.
    fn read_frame(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.decoder.can_collect() == 0 && !self.decoder.is_finished() {
            self.decoder
                .decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBlocks(1))
                .map_err(io::Error::other)?;
        }
        let n = self.decoder.read(buf)?;
        if n == 0 {
            self.check_sum()?;
        }
        Ok(n)
    }

    /// Compares a finished frame's checksum, when it has one, with its content's.
    fn check_sum(&self) -> io::Result<()> {
        match (
            self.decoder.get_checksum_from_data(),
            self.decoder.get_calculated_checksum(),
        ) {
            (Some(stored), Some(computed)) if stored != computed => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("zstd frame checksum mismatch (stored {stored:08x}, computed {computed:08x})"),
            )),
            _ => Ok(()),
        }
    }

    /// Starts the next frame, skipping skippable ones; false at the end of
    /// the source.
    fn next_frame(&mut self) -> io::Result<bool> {
        loop {
            if self.source.fill_buf()?.is_empty() {
                return Ok(false);
            }
            match self.decoder.reset(&mut self.source) {
                Ok(()) => return Ok(true),
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame { length, .. })) => {
                    let skipped = io::copy(&mut (&mut self.source).take(u64::from(length)), &mut io::sink())?;
                    if skipped < u64::from(length) {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
            }
        }
    }
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.in_frame {
                let n = self.read_frame(buf)?;
                if n > 0 {
                    return Ok(n);
                }
                self.in_frame = false;
            }
            if !self.next_frame()? {
                return Ok(0);
            }
            self.in_frame = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ruzstd::encoding::{CompressionLevel, compress_to_vec};

    fn read_all(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        ZstdFrames::new(bytes).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn concatenated_frames_read_as_one_stream() {
        let first = "a line\n".repeat(10_000);
        let mut file = compress_to_vec(first.as_bytes(), CompressionLevel::Fastest);
        file.extend(compress_to_vec(&b"second\n"[..], CompressionLevel::Fastest));
        assert_eq!(read_all(&file).unwrap(), format!("{first}second\n").into_bytes());
    }

    #[test]
    fn skippable_frames_are_skipped() {
        let mut file = vec![0x50, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 1, 2, 3];
        file.extend(compress_to_vec(&b"kept\n"[..], CompressionLevel::Fastest));
        assert_eq!(read_all(&file).unwrap(), b"kept\n");
    }

    #[test]
    fn empty_input_is_empty_and_garbage_is_an_error() {
        assert_eq!(read_all(b"").unwrap(), b"");
        assert_eq!(
            read_all(b"not zstd at all").unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let whole = compress_to_vec("x".repeat(5_000).as_bytes(), CompressionLevel::Fastest);
        assert!(read_all(&whole[..whole.len() / 2]).is_err());
    }

    #[test]
    fn a_frame_whose_checksum_differs_is_an_error() {
        let mut file = compress_to_vec(&b"checked\n"[..], CompressionLevel::Fastest);
        let last = file.len() - 1;
        file[last] ^= 0xFF;
        let error = read_all(&file).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().starts_with("zstd frame checksum mismatch"), "{error}");
    }
}
