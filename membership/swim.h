// Failure detection for gossip mode: SWIM (Das, Gupta, Motivala, "SWIM:
// Scalable Weakly-consistent Infection-style Process Group Membership
// Protocol", DSN 2002) with Lifeguard's refinements (Dadgar, Phillips,
// Currey, arXiv 1707.00788): local health awareness, nacks, and dynamic
// suspicion timeouts. Not yet wired into the engine (gossip mode, issue
// "Beyond the full mesh").
//
// Each protocol period (the probe interval, scaled by awareness.h) this node
// probes one member, in SWIM's round-robin order (probe_schedule.h):
//   1. a ping with a sequence number; the member answers with an ack;
//   2. no ack within the probe timeout: `indirect_checks` other members are
//      asked to probe it (ping-req). They ping it, relay its ack, or answer
//      a nack when it did not answer them within 4/5 of the probe timeout
//      (a nack tells this node that its own links work: Lifeguard IV-A;
//      sent early enough to arrive before the period ends);
//   3. no ack by the end of the period: the member is suspected.
// A suspicion is spread as an update. The member it is about refutes it by
// raising its incarnation and spreading `alive` (sent twice the retransmit
// limit: a member that misses it declares a live member dead). Pings to a
// suspect, and acks to a suspect's pings, carry its suspicion (Lifeguard's
// buddy system, IV-C), so that it refutes at once. Other members that
// suspect the same incarnation confirm it, which shortens its timeout
// (suspicion.h); about 2K of the members that hear of a suspicion probe the
// suspect next, so that a real failure is confirmed within about a period.
// When it times out the member is declared dead: NodeStale.
//
// Updates {alive | suspect | dead, node, incarnation, from} are piggybacked
// on every message through the broadcast queue (broadcast_queue.h). For one
// member, a higher incarnation wins; at the same incarnation, dead beats
// suspect beats alive (SWIM 4.2). Membership itself is the member list's
// (member_list.h): this class only tracks the members it is given.
//
// Events keep their mesh-mode meaning: a member is `unknown` until it is
// heard (NodeAlive), and only a member once heard can go stale; a probe of
// a member never heard suspects nobody. Heard means: a message from it, its
// own `alive` update, or a heard digest (below) of a member that heard it
// so. A member that never ran is heard by no one, so it stays `unknown`
// everywhere and is never declared stale. This node keeps SWIM's state of
// a member not heard yet all the same (a suspicion or death of it spread
// by others, silently): when it is heard, NodeAlive comes at once, and
// NodeStale right after if it died meanwhile. A local stall
// (stall_detector.h) is credited to every deadline, so a paused node
// accuses nobody for time it was not listening; a node whose probes fail
// without nacks raises its awareness score and probes more slowly instead.
//
// Hearing in a cold start. The members are known from the member list, so
// only one fact per member needs spreading: that it runs. Relaying every
// member's first `alive` as an update would cost every node N alives, each
// sent retransmit_mult * log10(N) times: about 1 MB per node and a minute
// of full queues at N = 5,000, which delays suspicions. Instead a member's
// first `alive` goes out from the member itself only (its retransmit
// limit), and while this node has members it has not heard, its pings carry
// a heard digest (SwimMessage::Heard: one bit per member of the sorted
// member list, N/8 bytes); the target merges it and answers with its own
// when it heard members the prober had not. That is push-pull anti-entropy
// on the probes (Demers et al., PODC 1987): every node hears every running
// member within O(log N) protocol periods (2.5 s at N = 200, 4.5 s at
// N = 5,000 in the simulator, tests/sim). A digest that teaches nothing
// doubles the probes until the next (up to one in 64), so a member that
// never runs costs little; digests of another member list (a join in
// flight) are ignored until the lists agree. Only news is relayed: an
// `alive` that ends a suspicion or death, refutes one (`from` set) or
// replaces a known incarnation. A node that heard a member only by digest
// knows no incarnation of it (0): its suspicion of it, at incarnation 0,
// accuses the member's first incarnation, whichever it is.
//
// Pure logic on the caller's clock and random seed; the caller delivers the
// messages (Out) and the caller's transport authenticates senders. Not
// thread-safe.
#ifndef VIGIL_MEMBERSHIP_SWIM_H_
#define VIGIL_MEMBERSHIP_SWIM_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "membership/awareness.h"
#include "membership/broadcast_queue.h"
#include "membership/peer_state.h"
#include "membership/probe_schedule.h"
#include "membership/suspicion.h"

namespace vigil::membership {

/// A member state update, as gossiped.
struct SwimUpdate {
  enum class Kind { kAlive, kSuspect, kDead };
  Kind kind = Kind::kAlive;
  std::string node;
  uint64_t incarnation = 0;
  /// Who raised it (suspect, dead); for alive, the member itself when it
  /// refutes a suspicion or death, empty for its first announcement.
  std::string from;
  bool operator==(const SwimUpdate&) const = default;
};

/// The SWIM part of one message.
struct SwimMessage {
  std::optional<uint32_t> ping;  // "ack this sequence number"
  std::optional<uint32_t> ack;
  std::optional<uint32_t> nack;
  struct PingReq {
    uint32_t seq = 0;
    std::string target;
    bool operator==(const PingReq&) const = default;
  };
  std::optional<PingReq> ping_req;  // "probe target for me, answer seq"
  std::vector<SwimUpdate> updates;  // piggybacked
  /// The members the sender has heard (see Swim, "Hearing in a cold
  /// start"): bit i (byte i / 8, bit i % 8, least significant first) for the
  /// i-th name of the sender's members and itself, sorted bytewise; `list`
  /// is the 64-bit FNV-1a hash of those names, each followed by '\n'. A
  /// receiver whose list hashes otherwise ignores it.
  struct Heard {
    uint64_t list = 0;
    std::string bits;
    bool operator==(const Heard&) const = default;
  };
  std::optional<Heard> heard;
  bool empty() const { return !ping && !ack && !nack && !ping_req && updates.empty() && !heard; }
};

class Swim {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = std::chrono::milliseconds;

  struct Options {
    Duration probe_interval{500};  // the protocol period
    Duration probe_timeout{250};   // direct ack wait before indirect checks
    std::size_t indirect_checks = 3;
    Duration suspicion_min{2000}, suspicion_max{6000};  // ms; suspicion.h
    int awareness_max = 8;
    int retransmit_mult = 4;           // broadcast_queue.h
    std::size_t update_budget = 1024;  // bytes of updates piggybacked per message
    std::size_t gossip_fanout = 3;     // members a gossip round sends to
    /// Heard digests on pings while members are unheard, and no relaying
    /// of first announcements ("Hearing in a cold start" above). Only for a
    /// transport that carries SwimMessage::heard: without it a cold start
    /// would hear members only directly. Off by default (every first alive
    /// is relayed, N^2 log N updates in a cold start); options_for turns it
    /// on.
    bool heard_digests = false;
  };
  /// Options for a cluster of `members` (this node included; counted as at
  /// least 10) probed every `interval` ms, where a failed member should be
  /// stale everywhere within about 2 x `timeout` ms (the engine gives its
  /// heartbeat interval and timeout, 500 ms and 2 s by default):
  ///   probe_interval = interval, probe_timeout = interval / 2 (memberlist's
  ///     ratio, 1 s and 500 ms);
  ///   suspicion_min = max(2 x interval, timeout - interval,
  ///     timeout x log10(members) / 4) ms; the middle term keeps the mesh
  ///     meaning of the timeout: a member is declared dead only after at
  ///     least `timeout` ms without an answer (the failed probe period,
  ///     then the suspicion), never for a shorter pause;
  ///   suspicion_max = 6 x suspicion_min (memberlist's
  ///     SuspicionMaxTimeoutMult);
  ///   gossip_fanout = 3, retransmit_mult = 4 (memberlist's LAN GossipNodes
  ///     and RetransmitMult); indirect_checks = 3 (memberlist, and K of
  ///     Lifeguard's dynamic suspicion timeout);
  ///   heard_digests = true: the caller's transport must carry
  ///     SwimMessage::heard (else set it false).
  /// Why: SWIM (section 5) and Lifeguard (IV-B) make the minimal suspicion
  /// timeout grow like log N, the rounds an update needs to reach everyone;
  /// memberlist sets it to SuspicionMult (4) x log10(N) x ProbeInterval,
  /// 4.6 s at N = 200 and 500 ms, which with the probe period and the
  /// spreading of the death gives detection near 6 s: above the 2 x timeout
  /// the mesh daemon's users expect. Here the classic multiplier is replaced
  /// by the timeout: timeout / 2 at log10(N) = 2 (N = 100), 1.15 s at
  /// N = 200, 1.85 s at N = 5,000 for a 2 s timeout. With the probe period
  /// (<= 1 s) and the death's spreading (~ log4 N gossip rounds of 200 ms)
  /// detection stays near 3 s at N = 200 and 5,000 (docs/BENCHMARKS.md,
  /// "Gossip mode, simulated"). The minimum applies only once K members
  /// confirmed the suspicion (a real failure: others' probes fail too,
  /// within about K periods); a false suspicion (lost datagrams, a paused
  /// node) has none and runs to the maximum, 6 x longer, which is what
  /// keeps false NodeStale away (none at N = 200 with 5 % loss over 300 s).
  static Options options_for(Duration interval, Duration timeout, std::size_t members);

  /// A message to send: `msg` to member `to`.
  struct Out {
    std::string to;
    SwimMessage msg;
  };

  /// `incarnation`: this node's first incarnation, above any of an earlier
  /// run (the engine gives its boot id), so that a restarted node is newer
  /// than what its peers remember; at least 1 (0 stands for "no incarnation
  /// known", see "Hearing in a cold start"). It is spread as `alive` at
  /// once (by this node only: its retransmit limit); the other members hear
  /// of it from it or from heard digests.
  Swim(std::string self, Options options, uint64_t seed, uint64_t incarnation = 1);

  /// A member joined (membership is the member list's): probed from now on,
  /// `unknown` until heard. Known members are ignored.
  void add(const std::string& member, Clock::time_point now);
  /// A member left or was forgotten: no longer probed, no event.
  void remove(const std::string& member);

  /// Advances time: starts the next probe, sends indirect checks, ends the
  /// probe period (suspecting a silent member), times out relayed probes
  /// (nacks) and suspicions (dead).
  std::vector<Out> tick(Clock::time_point now);
  /// One gossip round (the caller runs one every gossip interval, as
  /// memberlist's GossipInterval): update-only messages to up to
  /// `gossip_fanout` random members that are not dead, so that updates
  /// spread faster than on probes alone. None when no update is pending,
  /// unless `force` (the caller has its own updates to piggyback).
  std::vector<Out> gossip(bool force = false);
  /// A message from member `from` (authenticated by the caller). Any
  /// message proves `from` reachable: an unknown member becomes alive.
  std::vector<Out> receive(const std::string& from, const SwimMessage& msg, Clock::time_point now);
  /// The local loop stalled for `stall` ms: every deadline moves later.
  void credit(Duration stall);

  /// The earliest time tick() has work to do (a probe step, a relayed
  /// probe's nack, a suspicion's timeout); a caller driving many nodes ticks
  /// each one then, and after each receive().
  Clock::time_point next_deadline() const;

  /// NodeAlive and NodeStale transitions since the last call.
  std::vector<Transition> take_transitions();

  PeerState state(const std::string& member) const;
  uint64_t incarnation() const { return incarnation_; }
  const Awareness& awareness() const { return awareness_; }
  std::size_t pending_updates() const { return broadcasts_.pending(); }
  /// Members alive here (not suspect, dead or unknown).
  std::size_t alive_count() const;

  /// Updates as the broadcast queue holds them (compact text).
  static std::string encode(const SwimUpdate& u);
  static std::optional<SwimUpdate> decode(const std::string& text);

 private:
  // SWIM's state of a member, and whether this node heard of it (events
  // and PeerState only for members heard: `unknown` before).
  enum class State { kAlive, kSuspect, kDead };
  struct Member {
    State state = State::kAlive;
    bool heard = false;
    bool first = true;  // `incarnation` is its first (0: none known yet)
    uint32_t bit = 0;   // its place in order_
    uint64_t incarnation = 0;
  };
  using MemberEntry = std::pair<const std::string, Member>;
  struct Probe {
    std::string target;
    uint32_t seq = 0;
    Clock::time_point start;
    bool acked = false, indirect_sent = false;
    std::size_t nacks_expected = 0, nacks = 0;
  };
  struct Relay {
    std::string requester;
    uint32_t seq = 0;  // the requester's
    Clock::time_point deadline;
  };

  void apply(const SwimUpdate& u, Clock::time_point now);
  /// Queues `u` for piggybacking; urgent: a suspicion, a death, or an
  /// alive that ends one (broadcast_queue.h).
  void spread(SwimUpdate u, bool urgent);
  void heard(const std::string& member);
  void mark_heard(const std::string& name, Member& m);
  /// Dead here: NodeStale if heard; no longer probed.
  void declare_dead(const std::string& name, Member& m);
  void suspect(const std::string& member, Clock::time_point now);
  void refute(uint64_t accused);
  /// A suspicion of `name` was heard: maybe probe it next (swim.cc).
  void confirm_soon(const std::string& name, const Member& m);
  std::vector<Out> with_updates(std::vector<Out> out);
  /// The heard digest: sorts the names again after a change of membership.
  void order();
  SwimMessage::Heard digest();
  /// Marks heard what `h` says the sender heard; returns whether this node
  /// heard a member it had not, and sets `lacks` when the sender lacks one
  /// this node heard. False (and no `lacks`) for another member list.
  bool merge(const SwimMessage::Heard& h, bool& lacks);
  std::size_t expected_confirmations() const;

  std::string self_;
  Options options_;
  uint64_t incarnation_ = 0, first_incarnation_ = 0;
  std::unordered_map<std::string, Member> members_;
  std::map<std::string, Suspicion> suspicions_;  // of the members in State::kSuspect
  ProbeSchedule schedule_;
  std::mt19937_64 rng_;
  Awareness awareness_;
  BroadcastQueue broadcasts_;
  std::optional<Probe> probe_;
  Clock::time_point next_probe_{};
  std::map<uint32_t, Relay> relays_;  // our seq -> the requester
  uint32_t seq_ = 0;
  std::vector<Transition> transitions_;
  // Hearing in a cold start: the sorted names (nullptr: this node), their
  // hash, members not heard yet, and the backoff of digests on probes.
  std::vector<MemberEntry*> order_;
  std::size_t self_bit_ = 0;
  uint64_t list_hash_ = 0;
  bool order_dirty_ = true;
  std::size_t unheard_ = 0;
  unsigned digest_skip_ = 0, digest_wait_ = 0;
};

}  // namespace vigil::membership

#endif  // VIGIL_MEMBERSHIP_SWIM_H_
