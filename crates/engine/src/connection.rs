//! What a request knows of the socket it arrived on: the peer, and whether (and with which TLS
//! version) it was encrypted, the source of `aws:SecureTransport` and `s3:TlsVersion`.

use std::net::SocketAddr;

/// What the engine knows about the connection a request came on.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The client's address.
    pub peer: SocketAddr,
    /// True for the HTTPS listener.
    pub secure: bool,
    /// The negotiated TLS version, such as `1.3`.
    pub tls_version: Option<String>,
}
