"""Integration: a client that stops reading its event stream is cut off
(SubscriptionQueueThreshold, then SubscriptionError) while the daemon and
the other clients carry on."""
import json
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from vigil_cluster import Cluster, main  # noqa: E402


def post(sock_path, target, body):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(sock_path)
        data = json.dumps(body).encode()
        s.sendall(b"POST %s HTTP/1.1\r\nContent-Length: %d\r\n\r\n%s"
                  % (target.encode(), len(data), data))
        answer = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return answer
            answer += chunk


class SlowSubscriberTest(unittest.TestCase):
    def test_slow_client_is_dropped_and_the_daemon_keeps_serving(self):
        c = Cluster("slowsub", size=1)
        self.addCleanup(c.close)
        path = c.config_path("n1")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:  # commit at once: many changes, many events
            f.write(text.replace('log_level = "debug"', 'log_level = "info"\ncommit_interval = "1ms"'))
        c.start("n1")
        sock_path = os.path.join(c.var_dir("n1"), "api.sock")
        watcher = c.events("n1", "SubscriptionQueueThreshold", "SubscriptionError")

        subscriptions = c.subscriptions("n1")
        mark = subscriptions.mark()
        slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(slow.close)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect(sock_path)
        slow.sendall(b"POST /v1/events HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        # Subscribed, with no filters, before the flood of changes starts.
        self.assertIsNotNone(subscriptions.wait([], mark), "the slow client was never subscribed")

        start = time.monotonic()
        error = None
        for i in range(4000):
            answer = post(sock_path, "/v1/node/set", {"path": ".labels.i", "value": str(i)})
            self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer)
            if i % 200 == 0:
                error = watcher.matching("SubscriptionError")
                if error:
                    break
        error = error or watcher.wait_for("SubscriptionError", 10)
        self.assertTrue(error, "the slow client was never dropped")
        threshold = watcher.matching("SubscriptionQueueThreshold")
        self.assertTrue(threshold, watcher.snapshot())
        self.assertLess(watcher.snapshot().index(threshold[0]),
                        watcher.snapshot().index(error[0] if isinstance(error, list) else error))
        # The daemon answered every request meanwhile, and still does.
        self.assertLess(time.monotonic() - start, 120)
        self.assertEqual(c.cli("n1", "daemon", "status").returncode, 0)
        # The slow client's connection was closed: reading drains to EOF.
        slow.settimeout(10)
        total = 0
        while True:
            chunk = slow.recv(65536)
            if not chunk:
                break
            total += len(chunk)
        self.assertGreater(total, 0)


if __name__ == "__main__":
    main()
