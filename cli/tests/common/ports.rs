//! Free UDP ports for the streams the tests start (the studio's own tests inside the binary
//! include this file too, with `#[path]`).

/// A UDP port free on the loopback now.
pub fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Two free UDP ports in a row: a server's video in and animation out.
pub fn free_ports() -> u16 {
    loop {
        let port = free_port();
        if port < 65000
            && std::net::UdpSocket::bind(("0.0.0.0", port)).is_ok()
            && std::net::UdpSocket::bind(("0.0.0.0", port + 1)).is_ok()
        {
            return port;
        }
    }
}
