#include "agent/cli/status_table.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/daemon/quorum_line.h"

namespace vigil::agent {

using json = nlohmann::json;

namespace {

using Row = std::vector<std::string>;

std::string render_rows(const std::vector<Row>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  std::ostringstream os;
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    os << line << "\n";
  }
  return os.str();
}

std::string text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// "rejoin grace: 85s left, split analysis held; not heard yet: n2,n3\n"
// while the grace runs ("split analysis held" only when quorum is enforced),
// "" otherwise.
std::string rejoin_line(const json& g, bool enforced) {
  if (!g.is_object() || g.value("state", "") != "running") return "";
  const json remaining = g.value("remaining_ms", json());
  std::string line = "rejoin grace: " +
                     (remaining.is_number_integer() && remaining.get<int64_t>() >= 0
                          ? std::to_string((remaining.get<int64_t>() + 999) / 1000) + "s left"
                          : std::string("running")) +
                     (enforced ? ", split analysis held" : "");
  const json unheard = g.value("unheard", json::array());
  std::string names;
  if (unheard.is_array())
    for (const auto& n : unheard) names += (names.empty() ? "" : ",") + text(n);
  if (!names.empty()) line += "; not heard yet: " + names;
  return line + "\n";
}

}  // namespace

std::string render_status_table(const json& ds, const std::string& local) {
  std::set<std::string> paths;
  for (const auto& [name, peer] : ds.at("peers").items()) {
    const json hb = peer.value("hb", json::object());
    if (!hb.is_object()) continue;
    for (const auto& [id, state] : hb.items()) paths.insert(id);
  }
  Row head = {"NODE", "STATE", "FROZEN", "GEN", "LABELS"};
  for (const auto& p : paths) head.push_back("HB:" + p);
  std::vector<Row> rows = {head};
  for (const auto& name : ds.at("cluster").at("nodes")) {
    std::string n = name.get<std::string>();
    json peer = ds["peers"].value(n, json::object());
    json doc = ds["node"].value(n, json());
    // A peer's document is shown as it came: odd types print as "?", and
    // never stop the table.
    std::string labels, frozen = "?";
    if (doc.is_object()) {
      const json all = doc.contains("labels") ? doc["labels"] : json::object();
      if (all.is_object()) {
        for (const auto& [k, v] : all.items())
          labels += (labels.empty() ? "" : ",") + k + "=" + text(v);
      } else {
        labels = "?";
      }
      const json f = doc.contains("frozen") ? doc["frozen"] : json(false);
      if (f.is_boolean()) frozen = f.get<bool>() ? "frozen" : "-";
    }
    const bool is_local = n == local;
    Row r = {is_local ? n + " (local)" : n, peer.value("state", "unknown"), frozen,
             std::to_string(peer.value("gen", uint64_t{0})), labels.empty() ? "-" : labels};
    const json hb = peer.value("hb", json::object());
    for (const auto& p : paths) {
      if (is_local)
        r.push_back("n/a");
      else if (!hb.is_object() || !hb.contains(p))
        r.push_back("no path");
      else
        r.push_back(text(hb[p]));
    }
    rows.push_back(std::move(r));
  }
  const json quorum = ds["cluster"].value("quorum", json());
  const bool enforced =
      quorum.is_object() && quorum.contains("enabled") && quorum["enabled"] == json(true);
  if (ds["cluster"].value("standalone", false))
    return "standalone: no member of a cluster (join one with `vigil cluster join`)\n" +
           render_rows(rows);
  return "cluster " + ds["cluster"].value("name", "") + "\n" + render_rows(rows) +
         (quorum.is_object() ? quorum_line(quorum) + "\n" : "") +
         rejoin_line(ds["cluster"].value("rejoin_grace", json()), enforced);
}

std::string render_members_table(const json& members) {
  std::vector<Row> rows = {{"NAME", "STATE", "LTIME", "PATHS"}};
  if (members.is_object()) {
    for (const auto& [name, m] : members.items()) {
      std::string paths;
      if (m.contains("paths") && m["paths"].is_object())
        for (const auto& [id, addr] : m["paths"].items())
          paths += (paths.empty() ? "" : " ") + id + "=" + text(addr);
      rows.push_back({name, text(m.value("state", json())), text(m.value("ltime", json())),
                      paths.empty() ? "-" : paths});
    }
  }
  return render_rows(rows);
}

std::string render_webhook_sync_table(const json& answer) {
  std::vector<Row> rows = {{"NODE", "NODE STATUS", "SYNC STATUS"}};
  for (const auto& n : answer.value("nodes", json::array())) {
    const bool up = n.value("state", "") == "alive";
    const bool ok = n.value("in_sync", false);
    rows.push_back({text(n.value("node", json())), up ? "UP" : "DOWN",
                    ok ? "OK" : (up ? "NOT OK" : "NOT OK (syncs when back)")});
  }
  return render_rows(rows);
}

std::string render_webhook_test_table(const json& answer) {
  std::vector<Row> rows = {{"NODE", "NODE STATUS", "WEBHOOK STATUS"}};
  for (const auto& n : answer.value("nodes", json::array())) {
    const bool up = n.value("state", "") == "alive";
    std::string status = "OK";
    if (!n.value("ok", false)) status = "FAILED: " + text(n.value("error", json()));
    rows.push_back({text(n.value("node", json())), up ? "UP" : "DOWN", status});
  }
  return render_rows(rows);
}

std::string render_webhook_list(const json& answer) {
  std::vector<Row> hooks = {{"URL", "AUTH", "FILTERS"}};
  for (const auto& w : answer.value("webhooks", json::array())) {
    std::string filters;
    for (const auto& f : w.value("filters", json::array()))
      filters += (filters.empty() ? "" : " ") + text(f);
    hooks.push_back({text(w.value("url", json())), text(w.value("auth", json())),
                     filters.empty() ? "all" : filters});
  }
  std::vector<Row> delivery = {
      {"NODE", "URL", "QUEUED", "DELIVERED", "FAILED", "DROPPED", "LAST SUCCESS", "LAST ERROR"}};
  std::string behind;
  for (const auto& n : answer.value("nodes", json::array())) {
    const std::string node = text(n.value("node", json()));
    if (!n.value("in_sync", false)) behind += " " + node;
    const json d = n.value("delivery", json());
    if (!d.is_array()) {
      delivery.push_back({node, n.value("state", "") == "alive" ? "(no answer)" : "(down)"});
      continue;
    }
    for (const auto& w : d)
      delivery.push_back({node, text(w.value("url", json())), text(w.value("queued", json())),
                          text(w.value("delivered", json())), text(w.value("failed", json())),
                          text(w.value("dropped", json())),
                          text(w.value("last_success_at", json())),
                          text(w.value("last_error", json()))});
  }
  std::ostringstream os;
  os << render_rows(hooks) << "\n"
     << render_rows(delivery) << "\nversion " << text(answer.value("version", json()))
     << (behind.empty() ? ", held by every member" : ", not yet held by:" + behind) << "\n";
  return os.str();
}

std::string render_export_status(const json& answer) {
  const json nats = answer.is_object() ? answer.value("nats", json()) : json();
  if (!nats.is_object()) return "no export configured (no [export.nats] table in the config)\n";
  std::vector<Row> rows = {
      {"EXPORT", "URL", "CONNECTED", "BUFFERED", "PUBLISHED", "ACKED", "DROPPED"}};
  const bool js = nats.value("jetstream", false);
  rows.push_back({js ? "nats (jetstream)" : "nats", text(nats.value("url", json())),
                  nats.value("connected", false) ? "yes" : "no",
                  text(nats.value("buffered", json())) + "/" + text(nats.value("buffer", json())),
                  text(nats.value("published", json())),
                  js ? text(nats.value("acked", json())) : "-",
                  text(nats.value("dropped", json()))});
  std::string out = render_rows(rows);
  const json err = nats.value("last_error", json());
  if (err.is_string()) {
    out += "last error (" + text(nats.value("last_error_at", json())) +
           "): " + err.get<std::string>() + "\n";
  }
  return out;
}

std::string render_hb_table(const json& hb) {
  auto drops_text = [](const json& dropped) {
    std::string out;
    for (const auto& [reason, n] : dropped.items())
      if (n.get<uint64_t>() > 0) out += " " + reason + "=" + n.dump();
    return out.empty() ? std::string(" none") : out;
  };
  std::vector<Row> rows = {
      {"PATH", "TYPE", "STATUS", "PEER", "ADDRESS", "STATE", "LAST HEARD", "RX PKTS", "RX BYTES"}};
  std::string totals;
  for (const auto& p : hb.at("paths")) {
    const std::string id = p.value("id", "");
    for (const auto& [name, peer] : p.at("peers").items()) {
      const auto& last = peer.value("last_heard_ms", json());
      rows.push_back({id, p.value("type", ""), p.value("up", false) ? "up" : "down", name,
                      peer.value("address", ""), peer.value("state", "unknown"),
                      last.is_number() ? std::to_string(last.get<int64_t>()) + "ms ago" : "never",
                      text(peer.value("received_datagrams", json())),
                      text(peer.value("received_bytes", json()))});
    }
    totals += "path " + id + " (" + p.value("describe", "") + "): sent " +
              text(p.value("sent_datagrams", json())) + " datagrams, " +
              text(p.value("sent_bytes", json())) + " bytes; send errors " +
              text(p.value("send_errors", json())) +
              "; dropped:" + drops_text(p.value("dropped", json::object())) +
              "; kernel drops (receive buffer full) " + text(p.value("kernel_drops", json())) +
              "\n";
  }
  std::string key;
  if (const json k = hb.value("key", json()); k.is_object()) {
    std::string held;
    for (const auto& v : k.value("versions", json::array()))
      held += (held.empty() ? "" : ", ") + v.dump();
    key = "secret: sealing with version " + text(k.value("current", json())) + "; held " + held +
          (k.value("rotating", false) ? "; a rotation led here is in progress" : "") + "\n";
  }
  // Dissemination: mesh, or gossip with its figures (agent/engine/gossip_mode.h).
  std::string dissemination;
  if (const json d = hb.value("dissemination", json()); d.is_object()) {
    dissemination = "dissemination: " + d.value("mode", std::string("?"));
    if (d.value("mode", "") == "gossip") {
      const json rate = d.value("rate", json::object());
      char figures[160];
      std::snprintf(figures, sizeof figures,
                    "; fanout %s, probe interval %s ms, sending %.1f msg/s and %.0f B/s, "
                    "%s pending retransmits, %s members alive",
                    text(d.value("fanout", json())).c_str(),
                    text(d.value("probe_interval_ms", json())).c_str(),
                    rate.value("messages_per_s", 0.0), rate.value("bytes_per_s", 0.0),
                    text(d.value("pending_retransmits", json())).c_str(),
                    text(d.value("alive", json())).c_str());
      dissemination += figures;
    }
    dissemination += "\n";
  }
  // Datagrams that named a member but failed authentication, by sender.
  std::string auth;
  if (const json failures = hb.value("auth_failures", json()); failures.is_object()) {
    for (const auto& [sender, f] : failures.items()) {
      if (!f.is_object()) continue;
      const json last = f.value("last_ms", json());
      auth += "auth failures from " + sender + ": " + text(f.value("count", json())) + " (" +
              text(f.value("reason", json())) + ", key version " +
              text(f.value("key_version", json())) + ", last " +
              (last.is_number() ? text(last) + "ms ago" : std::string("?")) + ")\n";
    }
  }
  return render_rows(rows) + totals +
         "dropped (all paths):" + drops_text(hb.value("dropped", json::object())) +
         "; kernel drops " + text(hb.value("kernel_drops", json())) + "\n" + key + dissemination +
         auth;
}

std::string render_event_line(const json& e) {
  std::string line = e.value("at", "") + " " + e.value("kind", "");
  const json labels = e.value("labels", json::object());
  for (const auto& [k, v] : labels.items()) line += " " + k + "=" + text(v);
  return line + " " + e.value("data", json::object()).dump();
}

}  // namespace vigil::agent
