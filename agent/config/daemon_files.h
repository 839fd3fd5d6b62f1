// The files the daemon needs besides its config, checked when it starts
// (after load_config(), before anything runs), so that each problem is one
// config error naming the key, the path and the reason.
#ifndef VIGIL_AGENT_CONFIG_DAEMON_FILES_H_
#define VIGIL_AGENT_CONFIG_DAEMON_FILES_H_

#include <string>
#include <vector>

#include "agent/config/config.h"

namespace vigil::agent {

/// Prepares node.var_dir and checks the [api] and [http] TLS files:
///   - var_dir is created with mode 0700 when missing (its missing parents
///     with 0777 less the umask, as mkdir -p does). An existing var_dir must be a directory
///     that neither group nor others can write (mode & 022 == 0): they could
///     replace the keyring or the API socket. One that group or others can
///     read or enter is used, with a warning.
///   - api.tls_cert and api.tls_key, with a listener, must be regular files
///     of at most kMaxTlsFileBytes; tls_key must be private (mode & 077 == 0);
///     the same for http.tls_cert and http.tls_key.
/// Returns the warnings, one line each, for the daemon's log. Throws
/// ConfigError naming "node.var_dir", "api.tls_cert" or "api.tls_key" (or
/// the http ones), with
/// reasons such as "/x/cert.pem: No such file or directory" or "/etc/passwd/x:
/// cannot create: Not a directory".
std::vector<std::string> prepare_daemon_files(const Config& config);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_CONFIG_DAEMON_FILES_H_
