"""Sets up a running moto server for tests/gateway/moto.rs and prints what the test needs as one JSON line.

Usage: .venv-moto/bin/python scripts/moto_fixture.py http://127.0.0.1:PORT

With authentication still off it: switches Lambda to the Docker-less backend (an invoke echoes
the request body), creates an IAM user with an access key and a role (both allowed
lambda:InvokeFunction / lambda:Invoke*), creates a function, publishes version 1 and an alias
`live` on it, assumes the role for temporary credentials (key, secret, session token), then turns
authentication on (POST /moto-api/reset-auth, text/plain `0`): from then on moto recomputes every
request's SigV4 signature with botocore and answers 403 when it differs.

After that it makes the same kinds of calls with boto3 (name, ARN, qualifier, temporary
credentials, a wrong secret) so that a failure of the gateway can be told apart from a moto
quirk: these results ("STATUS payload-or-error-code") are in `boto3_checks` of the output.
"""

from __future__ import annotations

import io
import json
import sys
import urllib.request
import zipfile

import boto3
import botocore.config
import botocore.exceptions

REGION = "us-east-1"
FUNCTION = "echo"
ALIAS = "live"
INVOKE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction", "lambda:Invoke*"],
                "Resource": "*",
            }
        ],
    }
)


def post(endpoint: str, path: str, body: bytes, content_type: str) -> None:
    req = urllib.request.Request(
        endpoint + path,
        data=body,
        method="POST",
        headers={"Content-Type": content_type},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()


def client(endpoint: str, service: str, key: str, secret: str, token: str | None = None):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=botocore.config.Config(retries={"max_attempts": 1}),
    )


def function_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


def try_invoke(
    lam, name: str, qualifier: str | None = None, payload: bytes = b'{"check":1}'
) -> str:
    kwargs = {"FunctionName": name, "Payload": payload}
    if qualifier:
        kwargs["Qualifier"] = qualifier
    try:
        r = lam.invoke(**kwargs)
        return f"{r['StatusCode']} {r['Payload'].read().decode()}"
    except botocore.exceptions.ClientError as e:
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
        return f"{status} {e.response['Error'].get('Code')}"


def main() -> None:
    endpoint = sys.argv[1].rstrip("/")
    post(endpoint, "/moto-api/config", b'{"lambda":{"use_docker":false}}', "application/json")

    # Authentication is off until reset-auth: any key works for the setup calls.
    iam = client(endpoint, "iam", "setup", "setup")
    user = iam.create_user(UserName="gateway")["User"]
    iam.put_user_policy(UserName="gateway", PolicyName="invoke", PolicyDocument=INVOKE_POLICY)
    key = iam.create_access_key(UserName="gateway")["AccessKey"]

    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {
                        "AWS": user["Arn"],
                        "Service": "lambda.amazonaws.com",
                    },
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    role = iam.create_role(RoleName="gateway-invoker", AssumeRolePolicyDocument=trust)["Role"]
    iam.put_role_policy(
        RoleName="gateway-invoker", PolicyName="invoke", PolicyDocument=INVOKE_POLICY
    )

    lam = client(endpoint, "lambda", "setup", "setup")
    fn = lam.create_function(
        FunctionName=FUNCTION,
        Runtime="python3.12",
        Role=role["Arn"],
        Handler="handler.handler",
        Code={"ZipFile": function_zip()},
        Publish=True,
    )
    version = fn["Version"]
    if version == "$LATEST":
        version = lam.publish_version(FunctionName=FUNCTION)["Version"]
    lam.create_alias(FunctionName=FUNCTION, Name=ALIAS, FunctionVersion=version)

    # Temporary credentials moto can verify: only AssumeRole sessions are kept by moto's STS
    # (GetSessionToken returns a token that moto's access control never finds).
    sts = client(endpoint, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    temp = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="gateway-test")["Credentials"]

    post(endpoint, "/moto-api/reset-auth", b"0", "text/plain")

    arn = fn["FunctionArn"].split(":$LATEST")[0]
    user_lambda = client(endpoint, "lambda", key["AccessKeyId"], key["SecretAccessKey"])
    temp_lambda = client(
        endpoint, "lambda", temp["AccessKeyId"], temp["SecretAccessKey"], temp["SessionToken"]
    )
    bad_lambda = client(endpoint, "lambda", key["AccessKeyId"], key["SecretAccessKey"] + "x")
    checks = {
        "name": try_invoke(user_lambda, FUNCTION),
        "arn": try_invoke(user_lambda, arn),
        "version": try_invoke(user_lambda, FUNCTION, version),
        "alias": try_invoke(user_lambda, FUNCTION, ALIAS),
        "temporary": try_invoke(temp_lambda, FUNCTION),
        "wrong_secret": try_invoke(bad_lambda, FUNCTION),
        # moto 5.2.5 refuses every correctly signed request with an empty body: with no body and
        # no query it verifies the signature over its parsed request *headers* as the payload.
        "empty": try_invoke(user_lambda, FUNCTION, payload=b""),
    }

    print(
        json.dumps(
            {
                "access_key_id": key["AccessKeyId"],
                "secret_access_key": key["SecretAccessKey"],
                "temp_access_key_id": temp["AccessKeyId"],
                "temp_secret_access_key": temp["SecretAccessKey"],
                "temp_session_token": temp["SessionToken"],
                "function": FUNCTION,
                "function_arn": arn,
                "version": version,
                "alias": ALIAS,
                "boto3_checks": checks,
            }
        )
    )


if __name__ == "__main__":
    main()
