"""A private network namespace for fault tests: its own loopback (with
multicast), and an nftables table whose rules drop traffic between agents.

Needs root, iproute2 and nftables (in the kernel too); otherwise the tests
that use it are skipped (unittest.SkipTest) with a message saying so, and a
suite whose every test was skipped exits 77 (vigil_cluster.main), which ctest
reports as Skipped. Everything stays inside the namespace and is removed at
close().
"""
import os
import shutil
import subprocess
import unittest


def _run(args):
    return subprocess.run(args, capture_output=True, text=True, timeout=30)


class NetNS:
    def __init__(self, name):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root to create a network namespace for nftables faults")
        for tool in ("ip", "nft"):
            if shutil.which(tool) is None:
                raise unittest.SkipTest("needs '%s' (iproute2, nftables) for fault injection" % tool)
        self.name = "vigil-%s-%d" % (name, os.getpid())
        res = _run(["ip", "netns", "add", self.name])
        if res.returncode != 0:
            raise unittest.SkipTest("cannot create a network namespace: %s" % res.stderr.strip())
        try:
            self.exec("ip", "link", "set", "lo", "up", "multicast", "on")
            self.exec("ip", "route", "add", "224.0.0.0/4", "dev", "lo")
            self.nft("add table inet vigil")
            self.nft("add chain inet vigil input { type filter hook input priority 0; policy accept; }")
        except RuntimeError as e:
            # The environment cannot do it (no nf_tables in the kernel, no
            # multicast route...): the fault tests cannot run here.
            self.close()
            raise unittest.SkipTest("cannot set up the network namespace for fault injection: %s"
                                    % e)
        except Exception:
            self.close()
            raise

    def prefix(self):
        """Command prefix that runs a program inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def exec(self, *args):
        res = _run(self.prefix() + list(args))
        if res.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(args), res.stderr.strip()))
        return res.stdout

    def nft(self, rule):
        return self.exec("nft", *rule.split())

    def drop(self, src, dst, port=None):
        """Drops datagrams from `src` to `dst` (optionally to one UDP port)."""
        rule = "add rule inet vigil input ip saddr %s ip daddr %s" % (src, dst)
        if port is not None:
            rule += " udp dport %d" % port
        self.nft(rule + " drop")

    def drop_from(self, src, port=None):
        """Drops every datagram sent from `src` (unicast or multicast)."""
        rule = "add rule inet vigil input ip saddr %s" % src
        if port is not None:
            rule += " udp dport %d" % port
        self.nft(rule + " drop")

    def loss(self, percent):
        """Drops `percent`% of all UDP datagrams at random."""
        self.nft("add rule inet vigil input meta l4proto udp numgen random mod 100 < %d drop"
                 % percent)

    def heal(self):
        self.nft("flush chain inet vigil input")

    def close(self):
        _run(["ip", "netns", "del", self.name])
