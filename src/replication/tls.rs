//! The cluster CA and mutual TLS for QUIC links between regions.
//!
//! `meridian up` (or `meridian init`) creates the CA once, in the root data
//! directory (`cluster-ca.pem`, `cluster-ca.key`). Each region, when it
//! starts, issues itself a certificate for its region name signed by that CA,
//! or loads the one `meridian init` issued it (`region-<name>.pem`,
//! `region-<name>.key`), so that a region on a machine of its own needs only
//! its certificate, its key and the CA certificate, never the CA key.
//!
//! A region's certificate names it: its subject alternative name is
//! `<region>.meridian` ([`region_dns_name`]). Both ends of a link present
//! their certificate and accept only the CA's: a peer with a certificate
//! from any other CA fails the handshake, and a peer whose hello claims a
//! region its certificate does not name is refused by `link.rs`
//! ([`certificate_names`]).

use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// File names of the cluster CA inside the root data directory.
pub const CA_CERT_FILE: &str = "cluster-ca.pem";
/// The CA's private key, next to its certificate.
pub const CA_KEY_FILE: &str = "cluster-ca.key";

/// The certificate `meridian init` issues to `region`, in the root data
/// directory.
pub fn region_cert_file(region: &str) -> String {
    format!("region-{region}.pem")
}

/// The key of [`region_cert_file`], created 0600.
pub fn region_key_file(region: &str) -> String {
    format!("region-{region}.key")
}

/// The name a region's certificate is issued for, and the server name a
/// region dials a peer with: `<region>.meridian`. A suffix of its own keeps
/// region certificates apart from any other the cluster CA might sign.
pub fn region_dns_name(region: &str) -> String {
    format!("{region}.meridian")
}

/// Whether `cert` (DER, as a QUIC peer presented it) was issued for
/// `region` (see [`region_dns_name`]). Only the name is checked: the TLS
/// handshake already checked that the cluster CA signed it.
pub fn certificate_names(cert: &CertificateDer<'_>, region: &str) -> bool {
    let Ok(parsed) = rustls::server::ParsedCertificate::try_from(cert) else {
        return false;
    };
    let Ok(name) = rustls::pki_types::ServerName::try_from(region_dns_name(region)) else {
        return false;
    };
    rustls::client::verify_server_name(&parsed, &name).is_ok()
}

/// Why TLS material could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cluster CA: {0}")]
    Io(#[from] std::io::Error),
    #[error("certificate: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("TLS verifier: {0}")]
    Verifier(String),
    #[error("the cluster CA in {0} is missing; run `meridian init` (or `meridian up`) first")]
    MissingCa(String),
    #[error("{0} is not a valid region name for a certificate")]
    BadRegionName(String),
    #[error(
        "{path} holds a secret but is readable by group or others (mode {mode:04o}); \
         a secret must be readable by its owner only: run `chmod 600 {path}`"
    )]
    SecretReadable { path: String, mode: u32 },
}

/// Writes `contents` to a new file at `path` readable and writable by its
/// owner only (0600), whatever the process umask: the file is created with
/// that mode (a umask can only clear bits), written and synced under a
/// temporary name, then renamed into place, so that no reader ever sees a
/// wider mode or half a secret.
pub fn write_secret(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = std::path::PathBuf::from(temporary);
    let _ = std::fs::remove_file(&temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)
}

/// Refuses a file holding a secret that group or others may read or write
/// (as ssh refuses such a private key), with a message saying how to fix it.
pub fn check_secret_permissions(path: &Path) -> Result<(), TlsError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(TlsError::SecretReadable {
                path: path.display().to_string(),
                mode,
            });
        }
    }
    Ok(())
}

/// A cluster CA: its certificate (the trust anchor) and signing key.
pub struct ClusterCa {
    cert_pem: String,
    issuer: Certificate,
    key: KeyPair,
}

/// The CA's parameters; rebuilt identically from the key on every start, so
/// certificates it issues chain to the stored CA certificate.
fn ca_params(cluster: &str) -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, format!("meridian cluster {cluster} CA"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    Ok(params)
}

impl ClusterCa {
    /// A new CA in memory (tests use this directly).
    pub fn generate(cluster: &str) -> Result<ClusterCa, TlsError> {
        let key = KeyPair::generate()?;
        let issuer = ca_params(cluster)?.self_signed(&key)?;
        Ok(ClusterCa {
            cert_pem: issuer.pem(),
            issuer,
            key,
        })
    }

    /// Loads the CA from `dir`, creating it first if `create` and it is
    /// absent. The key is created 0600, and refused when group or others
    /// can read it (see [`check_secret_permissions`]).
    pub fn load_or_create(dir: &Path, cluster: &str, create: bool) -> Result<ClusterCa, TlsError> {
        let (cert_path, key_path) = (dir.join(CA_CERT_FILE), dir.join(CA_KEY_FILE));
        if !cert_path.exists() || !key_path.exists() {
            if !create {
                return Err(TlsError::MissingCa(dir.display().to_string()));
            }
            let ca = ClusterCa::generate(cluster)?;
            std::fs::create_dir_all(dir)?;
            write_secret(&key_path, ca.key.serialize_pem().as_bytes())?;
            std::fs::write(&cert_path, &ca.cert_pem)?;
            return Ok(ca);
        }
        check_secret_permissions(&key_path)?;
        let key = KeyPair::from_pem(&std::fs::read_to_string(&key_path)?)?;
        let cert_pem = std::fs::read_to_string(&cert_path)?;
        let issuer = ca_params(cluster)?.self_signed(&key)?;
        Ok(ClusterCa { cert_pem, issuer, key })
    }

    /// The CA's certificate and key, PEM, for a process that keeps no
    /// files (`meridian up --in-memory` hands them to its regions).
    pub fn to_pem(&self) -> (String, String) {
        (self.cert_pem.clone(), self.key.serialize_pem())
    }

    /// The CA `to_pem` gave.
    pub fn from_pem(cluster: &str, cert_pem: &str, key_pem: &str) -> Result<ClusterCa, TlsError> {
        let key = KeyPair::from_pem(key_pem)?;
        let issuer = ca_params(cluster)?.self_signed(&key)?;
        Ok(ClusterCa {
            cert_pem: cert_pem.to_string(),
            issuer,
            key,
        })
    }

    /// The CA certificate as DER, the one trust anchor of the cluster.
    fn anchor(&self) -> Result<CertificateDer<'static>, TlsError> {
        let mut reader = self.cert_pem.as_bytes();
        let cert = rustls_pemfile_cert(&mut reader)?;
        Ok(cert)
    }

    /// Issues a certificate for `region` and builds its QUIC TLS configs.
    pub fn region_identity(&self, region: &str) -> Result<RegionTls, TlsError> {
        self.identity_trusting(region, self)
    }

    /// Issues a certificate for `region`: its PEM and its key's PEM.
    fn issue(&self, region: &str) -> Result<(Certificate, KeyPair), TlsError> {
        let key = KeyPair::generate()?;
        let name = region_dns_name(region);
        if rustls::pki_types::ServerName::try_from(name.as_str()).is_err() {
            return Err(TlsError::BadRegionName(region.to_string()));
        }
        let mut params = CertificateParams::new(vec![name])?;
        params.distinguished_name.push(DnType::CommonName, region);
        let cert = params.signed_by(&key, &self.issuer, &self.key)?;
        Ok((cert, key))
    }

    /// Writes `region`'s certificate and key into `dir` (the key 0600) and
    /// the CA certificate beside them unless it is there: the files a
    /// region on a machine of its own needs (see [`RegionTls::load`]).
    pub fn write_region_files(&self, dir: &Path, region: &str) -> Result<(), TlsError> {
        let (cert, key) = self.issue(region)?;
        std::fs::create_dir_all(dir)?;
        write_secret(&dir.join(region_key_file(region)), key.serialize_pem().as_bytes())?;
        std::fs::write(dir.join(region_cert_file(region)), cert.pem())?;
        let ca_path = dir.join(CA_CERT_FILE);
        if !ca_path.exists() {
            std::fs::write(ca_path, &self.cert_pem)?;
        }
        Ok(())
    }

    /// Issues a certificate for `region` signed by this CA, in configs that
    /// trust `trusted`'s CA: the shape of a CA rotation, and how tests show a
    /// foreign certificate is refused by a peer it trusts.
    pub fn identity_trusting(&self, region: &str, trusted: &ClusterCa) -> Result<RegionTls, TlsError> {
        let (cert, key) = self.issue(region)?;
        RegionTls::new(trusted.anchor()?, cert.der().clone(), key.serialize_der())
    }
}

impl ClusterCa {
    /// The CA certificate, PEM: what clients of an API certificate it
    /// issued trust.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Issues a server certificate for the API under `names` (DNS names or
    /// IP addresses): its PEM and its key's PEM.
    pub fn issue_api(&self, names: &[String]) -> Result<(String, String), TlsError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(names.to_vec())?;
        params.distinguished_name.push(DnType::CommonName, "meridian API");
        let cert = params.signed_by(&key, &self.issuer, &self.key)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// Writes `region`'s API certificate and key (0600) into `dir`, for
    /// `api_tls`, naming localhost, 127.0.0.1 and `api_host`.
    pub fn write_api_files(&self, dir: &Path, region: &str, api_host: &str) -> Result<(), TlsError> {
        let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        if !names.iter().any(|n| n == api_host) {
            names.push(api_host.to_string());
        }
        let (cert, key) = self.issue_api(&names)?;
        std::fs::create_dir_all(dir)?;
        write_secret(&dir.join(format!("api-{region}.key")), key.as_bytes())?;
        std::fs::write(dir.join(format!("api-{region}.crt")), cert)?;
        Ok(())
    }
}

/// The API's TLS server configuration from a PEM certificate chain and key
/// (see `config::ApiTlsConfig`); the key is refused when group or others
/// can read it. TLS 1.2 and 1.3, HTTP/1.1.
pub fn api_server_config(cert_file: &Path, key_file: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    let shown = |path: &Path, e: rustls::pki_types::pem::Error| TlsError::Verifier(format!("{}: {e}", path.display()));
    check_secret_permissions(key_file)?;
    let chain = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| shown(cert_file, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| shown(cert_file, e))?;
    if chain.is_empty() {
        return Err(TlsError::Verifier(format!("{}: no certificate", cert_file.display())));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| shown(key_file, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A TLS client configuration for the regions' APIs (`api_tls`), trusting
/// only the certificates of the PEM file `ca_file` (the cluster CA, which
/// issues the API certificates of `meridian init --region-certs`).
pub fn api_client_config(ca_file: &Path) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    let shown = |e: rustls::pki_types::pem::Error| TlsError::Verifier(format!("{}: {e}", ca_file.display()));
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_file).map_err(shown)? {
        roots.add(cert.map_err(shown)?)?;
    }
    if roots.is_empty() {
        return Err(TlsError::Verifier(format!("{}: no certificate", ca_file.display())));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Parses the first certificate of a PEM document.
fn rustls_pemfile_cert(reader: &mut &[u8]) -> Result<CertificateDer<'static>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_reader(reader).map_err(|e| TlsError::Verifier(e.to_string()))
}

/// A region's TLS configurations for QUIC, as server and as client.
#[derive(Clone)]
pub struct RegionTls {
    pub server: Arc<rustls::ServerConfig>,
    pub client: Arc<rustls::ClientConfig>,
}

impl RegionTls {
    /// The identity `meridian init` issued to `region` in `dir`
    /// ([`ClusterCa::write_region_files`]), if its certificate is there:
    /// the region's certificate and key, trusting the CA certificate
    /// beside them. The key is refused when group or others can read it.
    pub fn load(dir: &Path, region: &str) -> Result<Option<RegionTls>, TlsError> {
        use rustls::pki_types::pem::PemObject;
        let cert_path = dir.join(region_cert_file(region));
        if !cert_path.exists() {
            return Ok(None);
        }
        let key_path = dir.join(region_key_file(region));
        check_secret_permissions(&key_path)?;
        let pem_error = |e: rustls::pki_types::pem::Error| TlsError::Verifier(e.to_string());
        let cert = CertificateDer::from_pem_file(&cert_path).map_err(pem_error)?;
        let key = PrivatePkcs8KeyDer::from_pem_file(&key_path).map_err(pem_error)?;
        let ca_path = dir.join(CA_CERT_FILE);
        if !ca_path.exists() {
            return Err(TlsError::MissingCa(dir.display().to_string()));
        }
        let anchor = CertificateDer::from_pem_file(&ca_path).map_err(pem_error)?;
        RegionTls::new(anchor, cert, key.secret_pkcs8_der().to_vec()).map(Some)
    }

    fn new(
        anchor: CertificateDer<'static>,
        cert: CertificateDer<'static>,
        key: Vec<u8>,
    ) -> Result<RegionTls, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(anchor)?;
        let roots = Arc::new(roots);
        let key = || PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.clone()));

        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(|e| TlsError::Verifier(e.to_string()))?;
        let server = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![cert.clone()], key())?;
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(roots)
            .with_client_auth_cert(vec![cert], key())?;
        Ok(RegionTls {
            server: Arc::new(server),
            client: Arc::new(client),
        })
    }
}
