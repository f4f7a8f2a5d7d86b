//! AMI over TLS (Asterisk's `tlsenable`/`tlsbindaddr`) with rustls.

use std::fmt;
use std::io;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The name to verify the certificate against is not a DNS name or IP address.
    #[error("{0:?} is not a valid TLS server name (a DNS name or an IP address)")]
    ServerName(String),
    /// The PEM holds no usable certificate.
    #[error("no CA certificate could be read from the PEM: {0}")]
    Pem(String),
    /// rustls refused the configuration.
    #[error("TLS configuration refused: {0}")]
    Rustls(#[from] rustls::Error),
}

/// How to verify and speak TLS to Asterisk.
#[derive(Clone)]
pub struct TlsConfig {
    connector: TlsConnector,
    server_name: ServerName<'static>,
}

impl TlsConfig {
    /// Uses a ready rustls configuration, verifying the certificate for `server_name`.
    pub fn new(
        config: Arc<rustls::ClientConfig>,
        server_name: &str,
    ) -> Result<TlsConfig, TlsError> {
        let server_name = ServerName::try_from(server_name.to_owned())
            .map_err(|_| TlsError::ServerName(server_name.to_owned()))?;
        Ok(TlsConfig {
            connector: TlsConnector::from(config),
            server_name,
        })
    }

    /// Trusts the CA (or self-signed) certificates in `pem` and verifies the server's
    /// certificate for `server_name` (a DNS name or IP address it was issued to).
    pub fn with_root_pem(pem: &[u8], server_name: &str) -> Result<TlsConfig, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| TlsError::Pem(e.to_string()))?;
            roots.add(cert).map_err(|e| TlsError::Pem(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(TlsError::Pem("the PEM holds no CERTIFICATE block".into()));
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        TlsConfig::new(Arc::new(config), server_name)
    }

    /// Runs the TLS handshake over `tcp`.
    pub(crate) async fn handshake(&self, tcp: TcpStream) -> io::Result<TlsStream<TcpStream>> {
        self.connector.connect(self.server_name.clone(), tcp).await
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_pems_without_certificates_and_bad_names() {
        assert!(matches!(
            TlsConfig::with_root_pem(b"not a pem", "localhost"),
            Err(TlsError::Pem(_))
        ));
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let pem = cert.cert.pem();
        assert!(TlsConfig::with_root_pem(pem.as_bytes(), "localhost").is_ok());
        assert!(matches!(
            TlsConfig::with_root_pem(pem.as_bytes(), "bad name!"),
            Err(TlsError::ServerName(_))
        ));
    }
}
