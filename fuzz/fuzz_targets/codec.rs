//! The DAP framing as the core and the adapter read it: any bytes from a client give frames
//! until the stream ends, never a panic, a hang or an allocation past the limit; every body read
//! is exactly what was framed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pydbg_protocol::codec::{encode_frame, read_frame, Frame};
use tokio::io::BufReader;

fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        let mut reader = BufReader::new(data);
        let mut frames = 0;
        // A read that fails (a body cut short) ends the connection, as in the session.
        while let Ok(Some(frame)) = read_frame(&mut reader).await {
            frames += 1;
            assert!(frames <= data.len(), "each frame consumes input");
            if let Frame::Body(body) = frame {
                let encoded = encode_frame(&body);
                let mut again = BufReader::new(encoded.as_slice());
                assert_eq!(read_frame(&mut again).await.unwrap(), Some(Frame::Body(body)));
            }
        }
    });
});
