#!/usr/bin/env python3
"""Writes signed processor payment requests for wrk, one per line: signature TAB body.

usage: make_requests.py SECRET OUT WORKLOAD COUNT PREFIX
  WORKLOAD spread: members m1..m100000 pay merchants x1..x2000
           hot:    members m1..m10000 all pay the merchant "hot"
Every request has its own event_id; the signature's time is now, so use the file within 300 s.
"""
import hashlib
import hmac
import json
import random
import sys
import time
from datetime import datetime, timezone


def main():
    secret, out, workload, count, prefix = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    rng = random.Random(7)
    t = str(int(time.time()))
    key = secret.encode()
    at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(out, "w") as f:
        for i in range(count):
            if workload == "hot":
                card, merchant = "c%d" % rng.randint(1, 10000), "hot"
            else:
                card, merchant = "c%d" % rng.randint(1, 100000), "x%d" % rng.randint(1, 2000)
            body = json.dumps({"event_id": "%s-%d" % (prefix, i), "card": card, "merchant": merchant,
                               "price": rng.randint(10, 200) * 100, "occurred_at": at, "channel": "card"},
                              separators=(",", ":"))
            mac = hmac.new(key, (t + "." + body).encode(), hashlib.sha256).hexdigest()
            f.write("t=%s,v1=%s\t%s\n" % (t, mac, body))


if __name__ == "__main__":
    main()
