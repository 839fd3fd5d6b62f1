#!/usr/bin/env python3
"""The cost of observability on the daemon: CPU time per GET /metrics at
N = 10, and the CPU a connected status page costs an idle node.

A 10-node cluster on loopback, each node with an [http] listener. Scrapes:
the script GETs n1's /metrics --scrapes times over one connection each (as
Prometheus does) and reports n1's CPU seconds (utime + stime) per scrape,
minus what n1 spends idle over the same wall time (measured first), and the
exposition's size. Idle page: headless Chromium (python3-selenium,
chromium-driver) holds n1's page open for --page-seconds; the report is n1's
CPU per second with the page against without it. Without Chromium that part
is skipped with a message.

Usage: tests/bench/metrics_scrape.py --vigil build/bin/vigil [--scrapes 2000]
       [--page-seconds 60] [--out build/bench/metrics_scrape.json]
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def idle_rate(pid, seconds):
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


def page_cost(url, pid, seconds):
    """CPU s per s of `pid` while headless Chromium shows `url`, or None."""
    # Debian's python3-selenium lives in the system's dist-packages, which
    # another interpreter of the same version does not read.
    if os.path.isdir("/usr/lib/python3/dist-packages"):
        sys.path.append("/usr/lib/python3/dist-packages")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None
    driver_path = shutil.which("chromedriver")
    if driver_path is None:
        return None
    opts = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(a)
    for b in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.path.exists(b):
            opts.binary_location = b
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        driver.get(url)
        time.sleep(5)  # the first fetches and the stream settle
        return idle_rate(pid, seconds)
    finally:
        driver.quit()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vigil", required=True)
    ap.add_argument("--scrapes", type=int, default=2000)
    ap.add_argument("--page-seconds", type=int, default=60)
    ap.add_argument("--out")
    args = ap.parse_args()
    os.environ["VIGIL_BIN"] = os.path.abspath(args.vigil)
    from vigil_cluster import Cluster, wait_until
    port = free_port()
    c = Cluster("benchmetrics", size=10, interval="500ms", timeout="2s", log_level="warn",
                extra=lambda cluster, node: ["[http]", 'listen = "%s:%d"' % (cluster.addr(node), port)])
    try:
        c.start_all()
        wait_until(lambda: all(p["state"] == "alive" for p in c.status("n1")["peers"].values()), 30)
        time.sleep(3)
        pid = c.procs["n1"].pid
        host = c.addr("n1")
        idle = idle_rate(pid, 20)
        size = 0
        c0, t0 = cpu_seconds(pid), time.monotonic()
        for _ in range(args.scrapes):
            conn = http.client.HTTPConnection(host, port, timeout=10)
            conn.request("GET", "/metrics")
            res = conn.getresponse()
            body = res.read()
            conn.close()
            if res.status != 200:
                raise RuntimeError("GET /metrics: %d" % res.status)
            size = len(body)
        wall = time.monotonic() - t0
        per_scrape = (cpu_seconds(pid) - c0 - idle * wall) / args.scrapes
        samples = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
        page = page_cost("http://%s:%d/" % (host, port), pid, args.page_seconds)
        idle_again = idle_rate(pid, 20)
        r = {"nodes": 10, "scrapes": args.scrapes, "cpu_ms_per_scrape": per_scrape * 1000,
             "exposition_bytes": size, "samples": samples, "scrapes_per_s": args.scrapes / wall,
             "idle_cpu_pct": 100 * idle, "idle_cpu_pct_after": 100 * idle_again,
             "page_cpu_pct": None if page is None else 100 * page}
        print(json.dumps(r))
        print("N = 10: %.3f ms CPU per scrape (%d samples, %d bytes, %.0f scrapes/s); idle %.2f %%"
              % (r["cpu_ms_per_scrape"], samples, size, r["scrapes_per_s"], r["idle_cpu_pct"]))
        if page is None:
            print("idle page: skipped (needs python3-selenium, chromium and chromium-driver)")
        else:
            print("idle page: %.2f %% CPU with one page open against %.2f / %.2f %% without"
                  % (r["page_cpu_pct"], r["idle_cpu_pct"], r["idle_cpu_pct_after"]))
        if args.out:
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            with open(args.out, "w") as f:
                json.dump(r, f, indent=1)
    finally:
        c.close()


if __name__ == "__main__":
    main()
