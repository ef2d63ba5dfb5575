//! uv-frontend: a BuildKit frontend that turns a small `uv.build` spec into a lean image of a
//! uv-managed Python project.
//!
//! The path from text to image is a chain of pure steps, each in its own module:
//! [`spec`] (the `uv.build` text, typed) → [`project`] (what the build context says) →
//! [`settings`] (everything resolved) → [`plan`] (stages and steps, serializable) →
//! [`lower`] (LLB) — and [`gateway`] is the only place that talks to BuildKit.

pub mod command_check;
pub mod frontend;
pub mod gateway;
pub mod image;
pub mod image_checks;
pub mod image_source;
pub mod interpreter_check;
pub mod lint;
pub mod llb;
pub mod lower;
pub mod panic_guard;
pub mod plan;
pub mod prepare;
pub mod project;
pub mod reads;
pub mod settings;
pub mod spec;
pub mod step_failure;
pub mod subrequests;
pub mod user;
pub mod venv_layout;
