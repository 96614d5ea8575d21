//! The server's identity (a throwaway CA and a leaf for `kubernetes`, `kubernetes.default...`, `localhost` and
//! `127.0.0.1`, as a real server's) and the kubeconfig that trusts it.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

pub(crate) struct Identity {
    pub(crate) ca_pem: String,
    pub(crate) server_config: Arc<ServerConfig>,
}

pub(crate) fn identity() -> anyhow::Result<Identity> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "fixture-apiserver CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)
        .context("signing the CA certificate")?;

    let leaf_key = KeyPair::generate()?;
    // The names every kube-apiserver serving certificate carries (kubeadm, k3s, kind), then the loopback ones.
    let mut leaf_params = CertificateParams::new(
        [
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
            "localhost",
            "127.0.0.1",
        ]
        .map(String::from)
        .to_vec(),
    )?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca)
        .context("signing the server certificate")?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let mut server_config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
        .context("building the TLS server configuration")?;
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Identity {
        ca_pem: ca.pem(),
        server_config: Arc::new(server_config),
    })
}

/// The names a kubeconfig uses for its one cluster, user and context.
pub(crate) struct KubeconfigNames {
    pub(crate) context: String,
    pub(crate) cluster: String,
    pub(crate) user: String,
}

/// A kubeconfig in YAML; every scalar is a JSON string, which YAML reads as a double-quoted scalar.
pub(crate) fn kubeconfig(
    names: &KubeconfigNames,
    server: &str,
    ca_file: &Path,
    token: &str,
) -> String {
    let q = |s: &str| serde_json::to_string(s).expect("a string always serializes");
    let ca_file = ca_file.to_string_lossy();
    format!(
        "apiVersion: v1\n\
         kind: Config\n\
         clusters:\n\
         - name: {cluster}\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\n\
         users:\n\
         - name: {user}\n  user:\n    token: {token}\n\
         contexts:\n\
         - name: {context}\n  context:\n    cluster: {cluster}\n    user: {user}\n\
         current-context: {context}\n",
        cluster = q(&names.cluster),
        server = q(server),
        ca = q(&ca_file),
        user = q(&names.user),
        token = q(token),
        context = q(&names.context),
    )
}
