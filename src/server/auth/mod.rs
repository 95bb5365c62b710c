//! Authentication: who is making a request.
//!
//! - [`identity`] — the verified identity a request carries.
pub mod identity;

pub use identity::Identity;
