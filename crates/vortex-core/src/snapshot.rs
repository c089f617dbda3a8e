//! [`Snapshot`]: an [`Environment`] together with its wire renderings, each made at most once.
//!
//! A response cache keeps snapshots, so that a hit costs a lookup and a reference-count increment:
//! no serialisation, no placeholder resolution. Every rendering carries a strong entity tag made
//! from its bytes, so clients can revalidate with `If-None-Match`.

use std::sync::OnceLock;

use bytes::Bytes;

use crate::placeholder::Budget;
use crate::render::{self, FlatFormat};
use crate::{CoreError, Environment, ErrorKind};

/// The wire forms of an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Representation {
    /// The Environment JSON of `/{app}/{profiles}[/{label}]`.
    Environment {
        /// The v2 media type: every value as `{"value", "origin"}`.
        origins: bool,
        /// Whether the request named a label. Without one the `label` field is `null`, as in Spring,
        /// even though the environment was loaded for the default label.
        label_in_request: bool,
    },
    /// A flat document of `/{app}-{profiles}.{ext}`.
    Flat {
        /// `.properties`, `.yml` or `.json`.
        format: FlatFormat,
        /// Whether `${...}` placeholders are resolved (`?resolvePlaceholders`, on by default).
        resolve_placeholders: bool,
    },
}

impl Representation {
    /// How many distinct representations exist.
    const COUNT: usize = 10;

    fn index(self) -> usize {
        match self {
            Self::Environment { origins, label_in_request } => usize::from(origins) * 2 + usize::from(label_in_request),
            Self::Flat { format, resolve_placeholders } => {
                let format = match format {
                    FlatFormat::Properties => 0,
                    FlatFormat::Yaml => 1,
                    FlatFormat::Json => 2,
                };
                4 + format * 2 + usize::from(resolve_placeholders)
            }
        }
    }
}

/// One rendered body and its strong entity tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendering {
    body: Bytes,
    etag: Bytes,
}

impl Rendering {
    /// Wraps `body` and computes its entity tag.
    pub fn new(body: impl Into<Bytes>) -> Self {
        let body = body.into();
        let etag = Bytes::from(entity_tag(&body));
        Self { body, etag }
    }

    /// The response body. Cloning it is a reference-count increment.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The strong entity tag, quoted as the `ETag` header carries it: `"0123456789abcdef"`.
    pub fn etag(&self) -> &Bytes {
        &self.etag
    }
}

/// An environment and its renderings, each made on first use and kept.
#[derive(Debug)]
pub struct Snapshot {
    env: Environment,
    /// Boxed: most snapshots only ever make one or two of the ten, and an empty slot is then a
    /// pointer and a state word rather than a whole rendering (some 500 bytes less per entry).
    renderings: [OnceLock<Box<Rendering>>; Representation::COUNT],
}

impl Snapshot {
    /// Wraps a loaded environment. Nothing is rendered yet.
    pub fn new(env: Environment) -> Self {
        Self { env, renderings: Default::default() }
    }

    /// The environment this snapshot was made from.
    pub fn environment(&self) -> &Environment {
        &self.env
    }

    /// Returns the rendering of `representation`, making it on the first call within the default
    /// placeholder [`Budget`].
    ///
    /// # Errors
    /// What rendering fails with: a circular placeholder, a key that does not fit a tree, a
    /// placeholder over its budget. Failures are not kept; the next call tries again.
    pub fn render(&self, representation: Representation) -> Result<&Rendering, CoreError> {
        self.render_within(representation, &mut Budget::default())
    }

    /// Returns the rendering of `representation` when it was already made: never any work.
    pub fn rendered(&self, representation: Representation) -> Option<&Rendering> {
        self.renderings[representation.index()].get().map(|rendering| &**rendering)
    }

    /// Returns the rendering of `representation`, making it on the first call within `budget`.
    ///
    /// # Errors
    /// As [`Snapshot::render`], and [`CoreError::Cancelled`] when the budget was cancelled.
    pub fn render_within(&self, representation: Representation, budget: &mut Budget) -> Result<&Rendering, CoreError> {
        let slot = &self.renderings[representation.index()];
        if let Some(rendering) = slot.get() {
            return Ok(rendering);
        }
        let rendering = self.make(representation, budget)?;
        // Two racing first calls make equal renderings; whichever lands first is kept.
        Ok(slot.get_or_init(|| Box::new(rendering)))
    }

    fn make(&self, representation: Representation, budget: &mut Budget) -> Result<Rendering, CoreError> {
        let body = match representation {
            Representation::Environment { origins, label_in_request } => {
                let label = if label_in_request { self.env.label.as_deref() } else { None };
                serde_json::to_vec(&self.env.json(origins).with_label(label)).map_err(|e| CoreError::Backend {
                    kind: ErrorKind::Internal,
                    message: "failed to serialise the environment".to_owned(),
                    source: Some(Box::new(e)),
                })?
            }
            Representation::Flat { format, resolve_placeholders } => {
                render::render_within(&self.env, format, resolve_placeholders, budget)?.into_bytes()
            }
        };
        // Serialisers grow their buffer by doubling, and `Bytes` would keep a vector's whole
        // allocation: a 4.1 KB body would hold 8 KB for as long as it is cached. An exact copy
        // keeps what is cached packed, and the scratch buffer goes back to the allocator whole.
        Ok(Rendering::new(Bytes::copy_from_slice(&body)))
    }

    /// An estimate of the memory this snapshot holds once its usual renderings exist, in bytes.
    ///
    /// It counts the text of every name, key and value with a fixed overhead per entry, twice: once
    /// for the environment and once for the renderings made from it.
    pub fn estimated_bytes(&self) -> u64 {
        const PER_PROPERTY: usize = 64;
        const PER_SOURCE: usize = 96;
        let env = &self.env;
        let mut total = 256 + env.name.len() + env.label.as_ref().map_or(0, String::len);
        for ps in &env.property_sources {
            total += PER_SOURCE + ps.name.len();
            for (key, property) in ps.source.iter() {
                total += PER_PROPERTY + key.len() + property.value.text_len();
            }
        }
        u64::try_from(total.saturating_mul(2)).unwrap_or(u64::MAX)
    }
}

/// A strong entity tag for `body`: a 64-bit hash, hex-encoded and quoted.
///
/// The hash is FNV-1a over 8-byte words: stable across processes and releases, so replicas of one
/// version agree on tags. It is not a cryptographic digest; a tag only has to change when the
/// bytes of one resource change.
pub fn entity_tag(body: &[u8]) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET ^ (body.len() as u64);
    let mut words = body.chunks_exact(8);
    for word in &mut words {
        let mut buf = [0u8; 8];
        buf.copy_from_slice(word);
        hash = (hash ^ u64::from_le_bytes(buf)).wrapping_mul(PRIME).rotate_left(29);
    }
    for &byte in words.remainder() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(PRIME);
    }
    // A final avalanche so that nearby inputs differ in every digit.
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    format!("\"{hash:016x}\"")
}

#[cfg(test)]
mod tests;
