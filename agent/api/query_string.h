// The query string of a request target ("/v1/events?filter=NodeStale"), as
// browsers write it (application/x-www-form-urlencoded, WHATWG URL): pairs
// separated by '&', name and value by the first '=', '+' for a space and
// %XX escapes. Used by GET /v1/events, whose filters the status page sends
// in the query string.
#ifndef VIGIL_AGENT_API_QUERY_STRING_H_
#define VIGIL_AGENT_API_QUERY_STRING_H_

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil::agent {

/// A query string that cannot be decoded; what() says why ("query: bad
/// percent escape '%G1'").
class QueryError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// The decoded (name, value) pairs of the query of `target` (after its first
/// '?'), in order; empty pairs ("a=1&&b=2") are skipped, a pair without '='
/// has an empty value. Throws QueryError for a '%' not followed by two hex
/// digits, a NUL byte decoded, or more than `max_pairs` pairs.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view target,
                                                             std::size_t max_pairs = 64);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_API_QUERY_STRING_H_
