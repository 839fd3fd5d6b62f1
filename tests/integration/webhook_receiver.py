#!/usr/bin/env python3
"""A webhook receiver for the integration tests, written as seed 000's own
example is (Flask): it appends each request it takes to a JSON-lines file
and answers as a control file says.

  webhook_receiver.py HOST PORT RECORD_FILE CONTROL_FILE

CONTROL_FILE holds "ok" (answer 200, the default), "fail" (answer 500 and
record nothing) or "hang" (never answer within 60 s). Each record is
{"headers": {name: value}, "body": <the JSON body>}."""
import json
import sys
import time

from flask import Flask, request

HOST, PORT, RECORD, CONTROL = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
app = Flask(__name__)


def mode():
    try:
        with open(CONTROL) as f:
            return f.read().strip() or "ok"
    except FileNotFoundError:
        return "ok"


@app.route("/listen", methods=["POST"])
def events_listener():
    m = mode()
    if m == "hang":
        time.sleep(60)
    if m == "fail":
        with open(RECORD + ".failed", "a") as f:
            f.write(request.headers.get("X-Vigil-Delivery", "") + "\n")
        return "failing on purpose", 500
    event = request.get_json(silent=True)
    with open(RECORD, "a") as f:
        f.write(json.dumps({"headers": dict(request.headers), "body": event}) + "\n")
    return "OK"


if __name__ == "__main__":
    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app.run(host=HOST, port=PORT, threaded=True)
