//! A bug must not leave BuildKit waiting for an answer that never comes: a panic while a
//! request (a build or a `--call` subrequest) is handled is caught and Returned as an error like
//! any other. The default panic hook still prints it to stderr, BuildKit's log, which users do
//! not see and which is not the gRPC wire (stdout).

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::task::Poll;

/// Most characters of a panic's message an error quotes.
const MESSAGE_MAX: usize = 400;

/// Runs `future` to its end: its output, or `Err` with the message of a panic in any of its
/// polls (the future is dropped then, never polled again).
pub async fn catch_panics<F: Future>(future: F) -> Result<F::Output, String> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => Poll::Ready(Err(panic_message(panic.as_ref()))),
        },
    )
    .await
}

/// The error message a panic is Returned as: at the spec file, as other errors are.
pub fn internal_error(spec_file: &str, panic: &str) -> String {
    format!(
        "{spec_file}:1: internal error in uv-frontend: {} (please report it)",
        crate::spec::shorten_to(panic, MESSAGE_MAX)
    )
}

/// The text a panic was raised with (`panic!("...")`, or a formatted message).
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(future)
    }

    #[test]
    fn a_future_that_ends_gives_its_output() {
        assert_eq!(block_on(catch_panics(async { 7 })), Ok(7));
    }

    #[test]
    fn a_panic_in_any_poll_is_caught_with_its_message() {
        let later = async {
            tokio::task::yield_now().await;
            let index = "cpé".len() - 2;
            // A formatted message, as a failed slice raises it.
            panic!("byte index {index} is not a char boundary");
        };
        assert_eq!(
            block_on(catch_panics(later)),
            Err::<(), _>("byte index 2 is not a char boundary".to_string())
        );
        let first = async { panic!("static message") };
        assert_eq!(
            block_on(catch_panics(first)),
            Err::<(), _>("static message".to_string())
        );
    }

    #[test]
    fn the_error_names_the_spec_and_asks_for_a_report_with_the_message_cut() {
        assert_eq!(
            internal_error("uv.build", "boom"),
            "uv.build:1: internal error in uv-frontend: boom (please report it)"
        );
        let long = internal_error("uv.build", &"x".repeat(100_000));
        assert!(long.len() < 600, "{}", long.len());
        assert!(long.ends_with("… (100000 characters) (please report it)"));
    }
}
