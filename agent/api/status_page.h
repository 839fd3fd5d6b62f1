// The web status page served at GET / (README "Web status page"): one
// self-contained HTML document, agent/api/status_page.html, with its CSS and
// script inline and no external asset (clusters are often offline). The
// build embeds the file (cmake/embed_file.cmake makes a .cc of its bytes),
// so the daemon reads no file at run time.
#ifndef VIGIL_AGENT_API_STATUS_PAGE_H_
#define VIGIL_AGENT_API_STATUS_PAGE_H_

#include <string_view>

namespace vigil::agent {

/// The bytes of status_page.html.
std::string_view status_page_html();

/// The Content-Security-Policy the page is served with: its own inline
/// script and style, requests to its own origin only, nothing else (no
/// external script, style, font, image or frame; no form posts).
inline constexpr std::string_view kStatusPageCsp =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_API_STATUS_PAGE_H_
