#include "heartbeat/endpoint_text.h"

namespace vigil::heartbeat {

std::string bracketed_host(std::string_view host) {
  if (host.find(':') == std::string_view::npos) return std::string(host);
  return "[" + std::string(host) + "]";
}

std::string host_port(std::string_view host, uint16_t port) {
  return bracketed_host(host) + ":" + std::to_string(port);
}

}  // namespace vigil::heartbeat
