//! The gRPC connection to BuildKit over the frontend's stdin and stdout.
//!
//! stdout is the wire: nothing else may write to it. stdin is read with tokio's pipe type, not
//! `tokio::io::stdin()`, whose blocking reader thread would keep the process alive after Return.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::unix::pipe;
use tonic::transport::{Channel, Endpoint, Uri};

/// gRPC messages can be large: definitions embed the lock file, and read files come back whole.
pub const MAX_MESSAGE_SIZE: usize = 16 << 20;

/// stdin and stdout as one duplex stream.
pub struct StdioStream {
    reader: pipe::Receiver,
    writer: pipe::Sender,
}

impl AsyncRead for StdioStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.reader).poll_read(cx, buf)
    }
}

impl AsyncWrite for StdioStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.writer).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_shutdown(cx)
    }
}

/// A channel whose one connection is fd 0 (from BuildKit) and fd 1 (to BuildKit).
pub async fn connect_stdio() -> anyhow::Result<Channel> {
    // SAFETY: fds 0 and 1 are open for the life of the process and owned by nothing else here;
    // this is the only place that takes them.
    let (stdin, stdout) = unsafe { (OwnedFd::from_raw_fd(0), OwnedFd::from_raw_fd(1)) };
    let stream = StdioStream {
        reader: pipe::Receiver::from_owned_fd(stdin)?,
        writer: pipe::Sender::from_owned_fd(stdout)?,
    };
    connect_stream(stream).await
}

/// A channel over any one duplex stream (stdio in production, an in-memory pipe in tests).
pub async fn connect_stream<S>(stream: S) -> anyhow::Result<Channel>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let slot = Arc::new(Mutex::new(Some(stream)));
    let connector = tower::service_fn(move |_: Uri| {
        let slot = slot.clone();
        async move {
            let stream = slot.lock().expect("not poisoned").take().ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotConnected,
                    "the BuildKit connection over stdio was closed and cannot be reopened",
                )
            })?;
            Ok::<_, io::Error>(TokioIo::new(stream))
        }
    });
    // The authority is never resolved: the connector ignores the URI.
    let channel = Endpoint::from_static("http://buildkit.stdio")
        .connect_with_connector(connector)
        .await?;
    Ok(channel)
}

/// Answers `--version` (or `-V`), the one argument a frontend binary takes, with
/// `<name> <crate version>` on stdout and true; false when BuildKit started it to build (no
/// arguments), when stdout is the wire and nothing may be printed.
pub fn answer_version(name: &str) -> bool {
    if !std::env::args()
        .skip(1)
        .any(|a| a == "--version" || a == "-V")
    {
        return false;
    }
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{name} {}", env!("CARGO_PKG_VERSION"));
    true
}

/// The whole life of a frontend process: a single-threaded runtime, the bridge on stdin and
/// stdout, and `serve` with it; then the process exits at once (nothing may keep it alive after
/// Return), with 1 when BuildKit could not be talked to. `name` prefixes what goes to stderr,
/// which is BuildKit's log.
pub fn serve_stdio<F, Fut>(name: &str, serve: F) -> !
where
    F: FnOnce(super::GrpcBridge) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    serve_stdio_channel(name, |channel| serve(super::GrpcBridge::new(channel)))
}

/// [`serve_stdio`] with the bare channel, for a frontend that talks to the LLBBridge client
/// itself (the benchmark's forwarding frontend).
pub fn serve_stdio_channel<F, Fut>(name: &str, serve: F) -> !
where
    F: FnOnce(Channel) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let code = runtime.block_on(async {
        let channel = match connect_stdio().await {
            Ok(channel) => channel,
            Err(e) => {
                eprintln!("{name}: cannot talk to BuildKit on stdin/stdout: {e:#}");
                return 1;
            }
        };
        match serve(channel).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("{name}: {e:#}");
                1
            }
        }
    });
    std::process::exit(code);
}
