//! Which address a request comes from, for per-IP rate limits: the peer, or — only when the peer is a configured
//! trusted proxy (`TRUSTED_PROXIES`) — the nearest address in `X-Forwarded-For` that is not one of those proxies.
//! Anyone else's forwarding headers are ignored: they are the client's to forge.
use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};

/// The client address of a request from `peer` with `headers`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> IpAddr {
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter_map(|s| s.parse::<IpAddr>().ok())
        .rfind(|ip| !trusted_proxies.contains(ip))
        .unwrap_or(peer)
}

/// The client address of a request with these `extensions` (its `ConnectInfo`) and `headers`; `None` when the
/// server was not started with connection info.
pub fn of_request(extensions: &Extensions, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let ConnectInfo(peer) = extensions.get::<ConnectInfo<SocketAddr>>()?;
    Some(client_ip(peer.ip(), headers, trusted_proxies))
}

/// The key per-IP limits count under: the IPv4 address, or the /64 network of an IPv6 address (one subscriber
/// line gets a whole /64 and can rotate through it freely).
pub fn limit_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::{client_ip, limit_key};

    #[test]
    fn ipv6_addresses_of_one_network_share_a_limit() {
        assert_eq!(limit_key(ip("2001:db8:1:2::1")), limit_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")));
        assert_eq!(limit_key(ip("2001:db8:1:2::1")), "2001:db8:1:2::/64");
        assert_ne!(limit_key(ip("2001:db8:1:2::1")), limit_key(ip("2001:db8:1:3::1")));
        assert_eq!(limit_key(ip("203.0.113.5")), "203.0.113.5");
        assert_eq!(limit_key(ip("::ffff:203.0.113.5")), "203.0.113.5", "a mapped IPv4 address is that address");
    }
    use axum::http::{HeaderMap, HeaderValue};
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(value).expect("header"));
        headers
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxy = ip("10.0.0.1");
        let headers = forwarded("198.51.100.7, 203.0.113.5");
        assert_eq!(
            client_ip(ip("192.0.2.1"), &headers, &[proxy]),
            ip("192.0.2.1"),
            "untrusted peer: its header is ignored"
        );
        assert_eq!(client_ip(proxy, &headers, &[proxy]), ip("203.0.113.5"), "the address the proxy saw");
        let chained = forwarded("198.51.100.7, 10.0.0.2");
        assert_eq!(client_ip(proxy, &chained, &[proxy, ip("10.0.0.2")]), ip("198.51.100.7"), "proxies skipped");
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &[proxy]), proxy, "no header: the proxy itself");
    }
}
