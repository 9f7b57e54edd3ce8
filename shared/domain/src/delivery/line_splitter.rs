//! Splits a byte stream (an S3 object read chunk by chunk) into lines, holding at most one
//! line in memory: the planner's memory stays flat whatever the list's size.

/// Longest accepted line of a recipient list, in bytes.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// A line of the stream: its text (without the line break) and the bytes it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The text, without `\n` (a trailing `\r` is kept for the row parser to drop).
    pub text: String,
    /// Bytes of the stream the line took, its `\n` included.
    pub bytes: u64,
}

/// Why the stream cannot be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// A line longer than [`MAX_LINE_BYTES`].
    #[error("a line is longer than {MAX_LINE_BYTES} bytes")]
    TooLong,
    /// A line that is not UTF-8.
    #[error("a line is not UTF-8 text")]
    NotUtf8,
}

/// Feeds chunks in, takes whole lines out.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
}

impl LineSplitter {
    /// A splitter with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `chunk` and returns the lines it completes.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Line>, LineError> {
        let mut lines = Vec::new();
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            self.partial.extend_from_slice(&rest[..end]);
            self.check_length()?;
            let bytes = self.partial.len() as u64 + 1;
            lines.push(Line {
                text: take_text(&mut self.partial)?,
                bytes,
            });
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        self.check_length()?;
        Ok(lines)
    }

    /// Ends the stream: its last line, if it had no final line break.
    pub fn finish(&mut self) -> Result<Option<Line>, LineError> {
        if self.partial.is_empty() {
            return Ok(None);
        }
        let bytes = self.partial.len() as u64;
        Ok(Some(Line {
            text: take_text(&mut self.partial)?,
            bytes,
        }))
    }

    fn check_length(&self) -> Result<(), LineError> {
        if self.partial.len() > MAX_LINE_BYTES {
            Err(LineError::TooLong)
        } else {
            Ok(())
        }
    }
}

fn take_text(partial: &mut Vec<u8>) -> Result<String, LineError> {
    String::from_utf8(std::mem::take(partial)).map_err(|_| LineError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Result<Vec<(String, u64)>, LineError> {
        let mut splitter = LineSplitter::new();
        let mut lines = Vec::new();
        for chunk in chunks {
            lines.extend(splitter.push(chunk)?);
        }
        lines.extend(splitter.finish()?);
        Ok(lines.into_iter().map(|l| (l.text, l.bytes)).collect())
    }

    #[test]
    fn lines_may_cross_chunks_and_bytes_add_up() {
        let lines = split(&[b"ab", b"c\nd", b"\r\n\n", "é\n".as_bytes()]).unwrap();
        assert_eq!(
            lines,
            vec![
                ("abc".into(), 4),
                ("d\r".into(), 3),
                (String::new(), 1),
                ("é".into(), 3)
            ]
        );
        assert_eq!(lines.iter().map(|l| l.1).sum::<u64>(), 11);
    }

    #[test]
    fn a_last_line_without_a_break_is_kept() {
        assert_eq!(
            split(&[b"a\nlast"]).unwrap(),
            vec![("a".into(), 2), ("last".into(), 4)]
        );
        assert_eq!(split(&[b""]).unwrap(), vec![]);
    }

    #[test]
    fn lines_may_be_up_to_64_kib() {
        assert_eq!(MAX_LINE_BYTES, 65_536);
    }

    #[test]
    fn refuses_overlong_lines_and_broken_text() {
        let long = vec![b'x'; MAX_LINE_BYTES + 1];
        assert_eq!(split(&[&long]), Err(LineError::TooLong));
        let mut fits = vec![b'x'; MAX_LINE_BYTES];
        fits.push(b'\n');
        assert_eq!(split(&[&fits]).unwrap().len(), 1);
        let mut long_in_two = vec![b'x'; MAX_LINE_BYTES];
        long_in_two.push(b'x');
        assert_eq!(
            split(&[&long_in_two[..10], &long_in_two[10..], b"\n"]),
            Err(LineError::TooLong)
        );
        assert_eq!(split(&[&[0xff, b'\n']]), Err(LineError::NotUtf8));
        assert_eq!(split(&[&[0xff]]), Err(LineError::NotUtf8));
    }
}
