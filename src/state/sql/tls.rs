//! TLS for the server stores: the CA and client-certificate files of a URL, and the rustls
//! client configuration of each mode.
//!
//! Owns: reading and checking the PEM files before any connection is made (so a bad file is
//! named as such, not reported as a handshake failure), the certificate verifiers of `prefer`
//! and `require` (no check), `verify-ca` (chain only) and `verify-full` (chain and name), and the
//! classification of a rustls failure. Must not: trust any CA but the ones in `ssl-ca` (no
//! system roots), or pick a process-wide crypto provider (every configuration names its own, the
//! one rustls is built with, aws-lc-rs).

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};

use super::{SqlError, TlsMode, TlsOptions};

/// The crypto provider of every TLS connection: aws-lc-rs, the only one rustls is built with.
pub(super) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The largest certificate or key file read (a CA bundle of a few hundred certificates fits).
const MAX_PEM_FILE: u64 = 1024 * 1024;

fn file_error(what: &'static str, path: &Path, reason: impl Into<String>) -> SqlError {
    SqlError::TlsFile {
        what,
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The bytes of a PEM file holding at least one certificate, each of which parses.
pub(super) fn read_certificates(
    what: &'static str,
    path: &Path,
) -> Result<(Vec<u8>, Vec<CertificateDer<'static>>), SqlError> {
    let bytes = crate::files::read_small(path, MAX_PEM_FILE, "a PEM file")
        .map_err(|e| file_error(what, path, e))?;
    let certificates = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(what, path, format!("not a PEM certificate file ({e})")))?;
    if certificates.is_empty() {
        return Err(file_error(
            what,
            path,
            "no certificate in it (expected PEM `-----BEGIN CERTIFICATE-----` blocks)",
        ));
    }
    Ok((bytes, certificates))
}

/// The CA certificates of `ssl-ca` as a root store (every one must be a usable CA
/// certificate).
pub(super) fn root_store(path: &Path) -> Result<RootCertStore, SqlError> {
    let (_, certificates) = read_certificates("CA", path)?;
    let mut roots = RootCertStore::empty();
    for certificate in certificates {
        roots
            .add(certificate)
            .map_err(|e| file_error("CA", path, format!("not a usable CA certificate ({e})")))?;
    }
    Ok(roots)
}

/// The private key of `ssl-key` (PKCS#8, PKCS#1 or SEC1 PEM).
pub(super) fn read_key(path: &Path) -> Result<(Vec<u8>, PrivateKeyDer<'static>), SqlError> {
    let bytes = crate::files::read_small(path, MAX_PEM_FILE, "a PEM file")
        .map_err(|e| file_error("client key", path, e))?;
    let key = PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| {
        file_error(
            "client key",
            path,
            format!("no PEM private key in it ({e})"),
        )
    })?;
    Ok((bytes, key))
}

/// The rustls configuration of a PostgreSQL connection in `options.mode` (never `disable`).
pub(super) fn client_config(options: &TlsOptions) -> Result<ClientConfig, SqlError> {
    let provider = provider();
    let verifier: Arc<dyn ServerCertVerifier> = match (&options.ca, options.mode) {
        (Some(ca), TlsMode::VerifyCa | TlsMode::VerifyFull | TlsMode::Require) => {
            let roots = Arc::new(root_store(ca)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| file_error("CA", ca, e.to_string()))?;
            if options.mode == TlsMode::VerifyFull {
                webpki
            } else {
                Arc::new(ChainOnly(webpki))
            }
        }
        _ => Arc::new(NoCheck(provider.signature_verification_algorithms)),
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SqlError::Tls {
            server: String::new(),
            reason: e.to_string(),
        })?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    match &options.client {
        None => Ok(builder.with_no_client_auth()),
        Some((cert, key)) => {
            let (_, chain) = read_certificates("client certificate", cert)?;
            let (_, private) = read_key(key)?;
            builder
                .with_client_auth_cert(chain, private)
                .map_err(|e| file_error("client key", key, e.to_string()))
        }
    }
}

/// `verify-ca`: the chain must lead to a trusted CA (checked first by webpki); a certificate
/// that does not name the host is accepted.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            // webpki checks the name only after the chain verified.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `prefer` and `require` without a CA: any certificate is accepted (the handshake's signatures
/// are still checked, so the session is with the certificate's key holder).
#[derive(Debug)]
struct NoCheck(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// The rustls error in an error's causes, if any: a TLS failure rather than a network one.
pub(super) fn rustls_cause<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(tls) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(tls);
        }
        current = e.source();
    }
    None
}

/// What a rustls failure means for the user.
pub(super) fn explain(error: &rustls::Error, mode: TlsMode) -> String {
    match error {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => format!(
            "the server's certificate was not accepted ({error}): it is not signed by a CA in \
             ssl-ca (ssl-mode={})",
            mode.as_str()
        ),
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => format!(
            "the server's certificate does not name the host of the URL ({error}); connect by a \
             name the certificate holds, or use ssl-mode=verify-ca"
        ),
        rustls::Error::InvalidCertificate(_) => {
            format!("the server's certificate was not accepted ({error})")
        }
        _ => error.to_string(),
    }
}
