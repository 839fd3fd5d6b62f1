// How vigil writes a network address with its port, everywhere (logs,
// `hb status`, config errors, HTTP Host headers): "127.0.0.1:10001", and an
// IPv6 literal in brackets, "[::1]:10001" (RFC 3986 §3.2.2).
#ifndef VIGIL_HEARTBEAT_ENDPOINT_TEXT_H_
#define VIGIL_HEARTBEAT_ENDPOINT_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace vigil::heartbeat {

/// `host` as it goes before a ":port": an IPv6 literal (any host holding a
/// ':') in brackets, anything else as is.
std::string bracketed_host(std::string_view host);

/// "host:port", with bracketed_host(host).
std::string host_port(std::string_view host, uint16_t port);

}  // namespace vigil::heartbeat

#endif  // VIGIL_HEARTBEAT_ENDPOINT_TEXT_H_
