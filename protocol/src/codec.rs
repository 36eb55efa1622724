//! DAP framing: `Content-Length: N\r\n\r\n` followed by N bytes of JSON.
//!
//! The reader never gives up on a connection because of one bad message: a header it cannot use
//! is reported as a [`Frame::BadHeader`] and reading resumes at the next header block.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// Messages larger than this are refused rather than buffered.
const MAX_BODY: usize = 64 * 1024 * 1024;
const INITIAL_BODY_CAPACITY: usize = 64 * 1024;

#[derive(Debug, PartialEq)]
pub enum Frame {
    /// A complete body, not yet parsed as JSON.
    Body(Vec<u8>),
    /// A header block without a usable `Content-Length`; the text says what was wrong.
    BadHeader(String),
}

/// Reads the next frame, or `None` at a clean end of stream.
pub async fn read_frame<R: AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Option<Frame>> {
    let mut content_length: Option<usize> = None;
    let mut problem: Option<String> = None;
    let mut saw_header = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(if saw_header { Some(Frame::BadHeader("stream ended inside a header".into())) } else { None });
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if !saw_header {
                continue; // stray blank line between messages
            }
            break;
        }
        saw_header = true;
        match text.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                match value.trim().parse::<usize>() {
                    Ok(n) if n <= MAX_BODY => content_length = Some(n),
                    Ok(n) => problem = Some(format!("Content-Length {n} exceeds the limit of {MAX_BODY} bytes")),
                    Err(_) => problem = Some(format!("Content-Length is not a number: {:?}", value.trim())),
                }
            }
            Some(_) => {} // other headers (Content-Type) are allowed and ignored
            None => problem = Some(format!("malformed header line: {text:?}")),
        }
    }
    match (problem, content_length) {
        (Some(p), _) => Ok(Some(Frame::BadHeader(p))),
        (None, None) => Ok(Some(Frame::BadHeader("header block has no Content-Length".into()))),
        (None, Some(n)) => {
            // Grown as the bytes arrive: a header alone never makes the reader allocate.
            let mut body = Vec::with_capacity(n.min(INITIAL_BODY_CAPACITY));
            (&mut *reader).take(n as u64).read_to_end(&mut body).await?;
            if body.len() < n {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            Ok(Some(Frame::Body(body)))
        }
    }
}

/// Frames a serialized message as one buffer, so that it goes out in a single write.
pub fn encode_frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &[u8]) -> Vec<Frame> {
        let mut reader = tokio::io::BufReader::new(input);
        let mut out = Vec::new();
        while let Some(f) = read_frame(&mut reader).await.unwrap() {
            out.push(f);
        }
        out
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    #[test]
    fn reads_consecutive_frames() {
        let input = b"Content-Length: 2\r\n\r\n{}Content-Length: 3\r\nContent-Type: x\r\n\r\n[1]";
        assert_eq!(run(frames(input)), vec![Frame::Body(b"{}".to_vec()), Frame::Body(b"[1]".to_vec())]);
    }

    #[test]
    fn bad_header_is_reported_and_reading_resumes() {
        let input = b"Content-Length: abc\r\n\r\nContent-Length: 2\r\n\r\n{}";
        let got = run(frames(input));
        assert!(matches!(&got[0], Frame::BadHeader(m) if m.contains("not a number")));
        assert_eq!(got[1], Frame::Body(b"{}".to_vec()));
    }

    #[test]
    fn missing_length_is_reported() {
        let got = run(frames(b"X-Other: 1\r\n\r\n"));
        assert!(matches!(&got[0], Frame::BadHeader(m) if m.contains("no Content-Length")));
    }

    #[test]
    fn header_name_is_case_insensitive() {
        assert_eq!(run(frames(b"content-length:2\n\n{}")), vec![Frame::Body(b"{}".to_vec())]);
    }

    #[test]
    fn oversized_length_is_refused() {
        let got = run(frames(b"Content-Length: 999999999999\r\n\r\n"));
        assert!(matches!(&got[0], Frame::BadHeader(m) if m.contains("exceeds")));
    }

    #[test]
    fn encode_counts_bytes_not_chars() {
        assert_eq!(encode_frame("\"é\"".as_bytes()), b"Content-Length: 4\r\n\r\n\"\xc3\xa9\"".to_vec());
    }

    #[test]
    fn a_body_cut_short_is_an_error_not_a_frame() {
        let mut reader = tokio::io::BufReader::new(&b"Content-Length: 60000000\r\n\r\n{\"seq\""[..]);
        let error = run(read_frame(&mut reader)).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
