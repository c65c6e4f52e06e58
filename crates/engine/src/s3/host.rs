//! Path-style and virtual-hosted-style addressing on loopback. A request to
//! `<bucket>.s3.localhost[:port]` names the bucket in the host, as AWS's
//! `<bucket>.s3.<region>.amazonaws.com` does; a request to `127.0.0.1`, `localhost` or
//! `s3.localhost` is path-style. `s3s`'s own host parsers would read `127.0.0.1:4566` as a
//! bucket name, hence this small parser. Names under `.localhost` resolve to loopback by
//! RFC 6761, so no DNS set-up is needed where the resolver honours it.

use s3s::S3Result;
use s3s::host::{S3Host, VirtualHost};

/// The base domain of virtual-hosted-style requests.
pub const BASE_DOMAIN: &str = "s3.localhost";

/// Parses `Host` headers for the engine.
#[derive(Debug, Clone, Copy)]
pub struct LoopbackHost;

impl S3Host for LoopbackHost {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        match name
            .strip_suffix(BASE_DOMAIN)
            .and_then(|n| n.strip_suffix('.'))
        {
            Some(bucket) if !bucket.is_empty() => {
                Ok(VirtualHost::new(BASE_DOMAIN).with_bucket(bucket.to_ascii_lowercase()))
            }
            _ => Ok(VirtualHost::new(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_under_s3_localhost_carry_a_bucket() {
        let bucket = |h: &'static str| {
            LoopbackHost
                .parse_host_header(h)
                .unwrap()
                .bucket()
                .map(str::to_string)
        };
        assert_eq!(bucket("127.0.0.1:4566"), None);
        assert_eq!(bucket("localhost:4566"), None);
        assert_eq!(bucket("s3.localhost:4566"), None);
        assert_eq!(bucket("[::1]:4566"), None);
        assert_eq!(bucket("data.s3.localhost:4566").as_deref(), Some("data"));
        assert_eq!(
            bucket("my.dotted.bucket.s3.localhost").as_deref(),
            Some("my.dotted.bucket")
        );
    }
}
