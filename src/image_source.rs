//! The vertex that loads one of the build's images, named by its role (`[uv] <image>`).
//!
//! The frontend solves the base image before the build, to read its accounts, and the build
//! solves it again: one function makes the vertex in both places, so that both name the same op
//! and BuildKit loads the image once.

use crate::llb::{self, Platform, State};

/// `image` (as `uv.build` or the project names it) loaded at `pinned` (the image at the digest
/// its config resolved to, or `image` itself when it did not resolve).
pub fn image_source(
    role: &str,
    image: &str,
    pinned: &str,
    platform: &Platform,
    resolve_mode: &str,
) -> State {
    llb::image_resolved(pinned, platform, resolve_mode, &format!("[{role}] {image}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_image_is_the_same_op_whatever_it_is_named() {
        let platform = Platform::new("linux", "amd64", "");
        let digest = |state: &State| {
            let definition = llb::marshal(state).definition;
            llb::digest_of(&definition.def[0])
        };
        let pinned = "127.0.0.1:5000/uv:0.13.9@sha256:00";
        let early = image_source(
            "uv",
            "127.0.0.1:5000/uv:0.13.9",
            pinned,
            &platform,
            "default",
        );
        let later = image_source("uv", "other name", pinned, &platform, "default");
        assert_eq!(digest(&early), digest(&later));
        let unpinned = image_source("uv", "x", "127.0.0.1:5000/uv:0.13.9", &platform, "default");
        assert_ne!(digest(&early), digest(&unpinned));
    }
}
