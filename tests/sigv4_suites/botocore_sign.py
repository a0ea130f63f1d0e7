"""Signs requests with botocore's own SigV4Auth, for tests/sigv4_suites/botocore_sigv4auth.rs.

Reads a JSON list of cases on stdin (method, url, headers as [name, value] pairs, body, keys,
optional token, region, service, timestamp YYYYMMDDTHHMMSSZ) and prints a JSON list with the
Authorization, X-Amz-Date and X-Amz-Security-Token botocore puts on each. The clock is
botocore's own (`get_current_datetime`), pinned to the case's timestamp; nothing else is
changed: `add_auth` runs as it does for any boto3 call.
"""

import datetime
import json
import sys

import botocore
import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def sign(case):
    when = datetime.datetime.strptime(case["timestamp"], "%Y%m%dT%H%M%SZ")
    botocore.auth.get_current_datetime = lambda *args, **kwargs: when
    request = AWSRequest(
        method=case["method"], url=case["url"], data=case["body"].encode()
    )
    for name, value in case["headers"]:
        # HTTPHeaders (an email.message.Message): assignment adds a value, so repeated
        # names keep all their values, in order.
        request.headers[name] = value
    credentials = Credentials(case["access_key"], case["secret_key"], case.get("token"))
    SigV4Auth(credentials, case["service"], case["region"]).add_auth(request)
    return {
        "authorization": request.headers["Authorization"],
        "x_amz_date": request.headers["X-Amz-Date"],
        "token": request.headers.get("X-Amz-Security-Token"),
    }


def main():
    cases = json.load(sys.stdin)
    print(json.dumps({"botocore": botocore.__version__, "signed": [sign(c) for c in cases]}))


if __name__ == "__main__":
    main()
