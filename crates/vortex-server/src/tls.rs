//! TLS termination with rustls (feature `tls`): the acceptor built from `server.tls`.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};

/// The acceptor for the PEM certificate chain at `cert` and the private key at `key`, offering
/// HTTP/1.1 by ALPN; with `client_ca`, asking for client certificates signed by its authorities
/// (a client without one is still served). Errors name the file and what is wrong with it, never
/// the key's content.
pub(crate) fn acceptor(cert: &Path, key: &Path, client_ca: Option<&Path>) -> std::io::Result<TlsAcceptor> {
    let invalid = |path: &Path, what: String| std::io::Error::other(format!("{}: {what}", path.display()));
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|err| invalid(cert, format!("cannot read the certificate chain: {err}")))?;
    if chain.is_empty() {
        return Err(invalid(cert, "holds no PEM certificate".to_owned()));
    }
    let key_der =
        PrivateKeyDer::from_pem_file(key).map_err(|err| invalid(key, format!("cannot read the private key: {err}")))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|err| std::io::Error::other(format!("TLS: {err}")))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(ca)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|err| invalid(ca, format!("cannot read the certificate authorities: {err}")))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(invalid(ca, "holds no usable PEM certificate".to_owned()));
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|err| invalid(ca, format!("cannot verify clients with it: {err}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key_der)
        .map_err(|err| invalid(cert, format!("the certificate and key cannot be used together: {err}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
