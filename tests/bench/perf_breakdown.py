#!/usr/bin/env python3
"""Splits a `perf record --call-graph` profile of a vigil daemon into the
stages of its receive path, by the frames on each sampled stack.

    perf script -i PERF_DATA -F comm,tid,period,ip,sym,dso | python3 perf_breakdown.py

(cluster_bench.py --phases flood --flood-perf PREFIX records PREFIX.data.)
A sample counts toward the first stage, in the order below, with a frame
that matches; the rest is "other". Prints each stage's share of the samples.
Python 3 standard library only.
"""
import sys

# (stage, substrings of a frame's symbol), first match wins; the order puts
# the innermost interesting stage first.
STAGES = [
    ("AEAD tag check (libsodium)", ("crypto_aead_", "crypto_onetimeauth", "poly1305",
                                    "chacha20", "crypto_core_hchacha20", "crypto_stream")),
    ("header parse (msgpack)", ("heartbeat::parse_datagram", "(anonymous namespace)::parse",
                                "msgpack::")),
    ("rest of Opener::open", ("heartbeat::Opener::open",)),
    ("daemon bookkeeping (on_datagram, drop counters)", ("Daemon::Impl::on_datagram",
                                                         "HeartbeatPaths::count_drops")),
    ("recvfrom syscall", ("__libc_recvfrom", "__sys_recvfrom", "sock_recvmsg")),
    ("epoll_wait syscall", ("epoll_wait",)),
    ("sends and timers (heartbeat out, checks)", ("sendto", "sendmsg", "check_tick",
                                                  "HeartbeatPaths::tick")),
    ("API and CLI requests", ("ApiServer", "api_server", "beast::")),
    ("asio receive op and scheduler", ("boost::asio::",)),
]


def stacks(lines):
    """Yields the list of frame symbols of each sample in `perf script` output."""
    frames = []
    in_sample = False
    for line in lines:
        if not line.strip():
            if in_sample:
                yield frames
            frames, in_sample = [], False
            continue
        if not line.startswith((" ", "\t")):
            in_sample = True  # the sample's header line
            continue
        parts = line.strip().split(None, 1)
        frames.append(parts[1] if len(parts) > 1 else parts[0])
    if in_sample:
        yield frames


def classify(frames):
    for stage, needles in STAGES:
        if any(n in f for f in frames for n in needles):
            return stage
    return "other"


def main():
    counts, total = {}, 0
    for frames in stacks(sys.stdin):
        stage = classify(frames)
        counts[stage] = counts.get(stage, 0) + 1
        total += 1
    if not total:
        sys.exit("perf_breakdown: no samples on stdin")
    print("%d samples" % total)
    for stage, _ in STAGES + [("other", ())]:
        if stage in counts:
            print("%6.1f %%  %s" % (100.0 * counts[stage] / total, stage))
    return 0


if __name__ == "__main__":
    sys.exit(main())
