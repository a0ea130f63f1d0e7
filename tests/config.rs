//! Configuration loading: the reference file loads, `-t` checks the whole file, and every
//! error names the file, the field path and the reason.

mod common;

use std::process::Command;

use common::*;
use lambda_proxy::config::Config;

const REFERENCE: &str = "conf/lambda-proxy.yaml";

#[test]
fn reference_config_loads_and_passes_dash_t() {
    let c = Config::load(repo_path(REFERENCE)).expect("reference config loads");
    assert_eq!(c.gateway.routes.len(), 3);
    assert_eq!(c.server.threads, 2);
    // metrics, health and access_log as documented there: their defaults.
    assert!(c.gateway.metrics.is_none(), "metrics are off by default");
    assert_eq!(c.gateway.health.path, "/healthz");
    assert!(c.gateway.access_log.enabled);
    assert_eq!(
        c.gateway.access_log.format,
        lambda_proxy::config::AccessLogFormat::Text
    );
    let out = Command::new(gateway_bin())
        .arg("-t")
        .arg("-c")
        .arg(repo_path(REFERENCE))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("configuration OK (1 listeners, 3 routes)"),
        "{stdout}"
    );
}

/// (replace this, with this, expected field path in the error)
const BROKEN: &[(&str, &str, &str)] = &[
    ("threads: 2", "threads: two", "threads"),
    (
        "threads: 2",
        "threads: 2\nthread_count: 4",
        "thread_count: unknown top-level key",
    ),
    ("\nlisteners:", "\nlistners:", "listners"),
    (
        "  - address: 127.0.0.1:8080",
        "  - address: localhost",
        "listeners[0].address",
    ),
    ("    h2c: true", "    h2c: maybe", "listeners[0].h2c"),
    (
        "  refresh_seconds: 30",
        "  refresh_seconds: 0",
        "dns.refresh_seconds",
    ),
    (
        "  - name: orders",
        "  - name: thumbnails",
        "routes[1].name: duplicate route name",
    ),
    ("    uri: /orders/*", "    uri: orders/*", "routes[0].uri"),
    (
        "    uri: /orders/*",
        "    uri: /orders/*/x",
        "routes[0].uri",
    ),
    (
        "    methods: [GET, POST]",
        "    methods: [GET, 'NOT A METHOD']",
        "routes[1].methods[1]",
    ),
    (
        "    function_uri: https://abc123.execute-api.us-east-1.amazonaws.com/prod",
        "    function_uri: ftp://abc123.execute-api.us-east-1.amazonaws.com/prod",
        "routes[0].function_uri: scheme must be http or https",
    ),
    (
        "    keepalive_pool: 5",
        "    keepalive_pool: 0",
        "routes[0].keepalive_pool",
    ),
    (
        "    read_buffer: 16384",
        "    read_buffer: 100",
        "listeners[0].read_buffer: must be 1024 to 1048576 bytes",
    ),
    (
        "  body_timeout: 60000 ",
        "  body_timeout: 0 ",
        "client.body_timeout: must be at least 1 ms",
    ),
    (
        "  send_timeout: 60000 ",
        "  send_tmeout: 60000 ",
        "client.send_tmeout: unknown field",
    ),
    (
        "  buffered_body_bytes: 268435456",
        "  buffered_body_bytes: 100",
        "limits.buffered_body_bytes: must be at least 65536 bytes",
    ),
    (
        "  buffered_body_bytes: 268435456",
        "  buffered_bodies: 100",
        "limits.buffered_bodies: unknown field",
    ),
    (
        "      attempts: 3 ",
        "      attempts: 0 ",
        "routes[0].retries.attempts: must be 1 to 10",
    ),
    (
        "      base_delay: 25 ",
        "      base_delay: 5000 ",
        "routes[0].retries.base_delay",
    ),
    (
        "    keepalive_pool: 5",
        "    keepalive_pol: 5",
        "routes[0].keepalive_pol: unknown field",
    ),
    (
        "      apikey_policy: replace",
        "      apikey_policy: sometimes",
        "routes[0].authorization.apikey_policy",
    ),
    (
        "        service: lambda",
        "        service: 'Lambda Service'",
        "routes[1].authorization.iam.service",
    ),
    (
        "        aws_region: eu-west-1",
        "        aws_region: ''",
        "routes[1].authorization.iam.aws_region",
    ),
    (
        "        secretkey: \"replace-me\"",
        "        secretkee: x",
        "routes[1].authorization.iam",
    ),
    (
        "    max_body_size: 6291456",
        "    max_body_size: -1",
        "routes[1].max_body_size",
    ),
    (
        "    connect_timeout: 3000",
        "    connect_timeout: 3000\n    ca_file: /nonexistent/ca.pem",
        "routes[0].ca_file",
    ),
    (
        "    function_name: orders-handler",
        "    function_name: 'orders handler'",
        "routes[2].function_name",
    ),
    (
        "    function_name: orders-handler",
        "    function_name: arn:aws:lambda:us-east-1:12345:function:x",
        "routes[2].function_name",
    ),
    (
        "    qualifier: prod",
        "    qualifier: 'not valid'",
        "routes[2].qualifier",
    ),
    (
        "    aws_region: us-east-1              #",
        "    aws_region: Mars              #",
        "routes[2].aws_region",
    ),
    (
        "    invocation_type: RequestResponse",
        "    invocation_type: Sometimes",
        "routes[2].invocation_type",
    ),
    (
        "    unhandled_status: 502",
        "    unhandled_status: 1000",
        "routes[2].unhandled_status",
    ),
    (
        "    awsgateway_compatible_payload_version: \"2.0\"",
        "    awsgateway_compatible_payload_version: \"3.0\"",
        "routes[2].awsgateway_compatible_payload_version",
    ),
    (
        "      account_id: \"123456789012\"",
        "      account_id: \"12\"",
        "routes[2].awsgateway_context.account_id",
    ),
    (
        "    aws_secret: \"replace-me\"",
        "    aws_secrets: x",
        "routes[2].aws_secrets: unknown field",
    ),
    (
        "    uri: /invoke/*",
        "    uri: /invoke/*\n    function_uri: https://x.example/",
        "routes[2].function_name: a route has either",
    ),
    (
        "    max_body_size: 6291456",
        "    max_body_size: 6291456\n    qualifier: x",
        "routes[1].qualifier: only applies to `function_name` routes",
    ),
    (
        "    log_type: None",
        "    log_type: None\n    authorization: {apikey: x}",
        "routes[2].authorization: only applies to `function_uri` routes",
    ),
    (
        "    assume_role_arn: arn:aws:iam::210987654321:role/invoke-orders",
        "    assume_role_arn: not-an-arn",
        "credentials.cross-account.assume_role_arn",
    ),
    (
        "    role_session_name: lambda-proxy  #",
        "    role_session_name: 'a b'  #",
        "credentials.cross-account.role_session_name",
    ),
    (
        "    # duration_seconds: 3600",
        "    duration_seconds: 60",
        "credentials.cross-account.duration_seconds",
    ),
    (
        "    secret_access_key: \"replace-me\"",
        "    secret_acess_key: x",
        "credentials.cross-account.secret_acess_key: unknown field",
    ),
    (
        "    aws_key: AKIDEXAMPLE\n    aws_secret: \"replace-me\"",
        "    credentials: nope",
        "routes[2].credentials: no credentials source named `nope` (defined: cross-account)",
    ),
    (
        "    aws_key: AKIDEXAMPLE\n    aws_secret: \"replace-me\"",
        "    aws_key: AKIDEXAMPLE",
        "routes[2].aws_secret: aws_key needs aws_secret",
    ),
    (
        "    # aws_profile: prod",
        "    aws_profile: prod",
        "routes[2].aws_profile: a profile applies to the default chain",
    ),
    (
        "        secretkey: \"replace-me\"",
        "        secretkey: \"replace-me\"\n        credentials: cross-account",
        "routes[1].authorization.iam.credentials: a named source excludes",
    ),
    (
        "\nroutes:",
        "\nmetrics:\n  address: nowhere\nroutes:",
        "metrics.address",
    ),
    (
        "\nhealth:\n  path: /healthz",
        "\nhealth:\n  path: healthz",
        "health.path",
    ),
    (
        "\naccess_log:\n  enabled: true",
        "\naccess_log:\n  enabled: maybe",
        "access_log.enabled",
    ),
    ("  format: text", "  format: xml", "access_log.format"),
];

#[test]
fn broken_copies_fail_naming_the_field() {
    let reference = std::fs::read_to_string(repo_path(REFERENCE)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (i, (from, to, expected)) in BROKEN.iter().enumerate() {
        assert!(reference.contains(from), "reference lacks {from:?}");
        let broken = reference.replacen(from, to, 1);
        let path = dir.path().join(format!("broken-{i}.yaml"));
        std::fs::write(&path, broken).unwrap();
        let out = Command::new(gateway_bin())
            .arg("-t")
            .arg("-c")
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "case {i} ({to:?}) passed -t");
        let want = format!("{}: {expected}", path.display());
        assert!(
            stderr.contains(&want),
            "case {i}: wanted {want:?} in:\n{stderr}"
        );
    }
}

/// Every section of the gateway's configuration is documented in the reference file, set or
/// commented out (`metrics`, off by default), and the commented example loads.
#[test]
fn reference_config_documents_every_section() {
    let text = std::fs::read_to_string(repo_path(REFERENCE)).unwrap();
    for section in [
        "listeners",
        "client",
        "limits",
        "dns",
        "metrics",
        "health",
        "access_log",
        "credentials",
        "routes",
    ] {
        let header = format!("\n# {section}: ");
        let set = format!("\n{section}:");
        let example = format!("\n# {section}:\n");
        assert!(
            text.contains(&header) && (text.contains(&set) || text.contains(&example)),
            "{REFERENCE} does not document `{section}`"
        );
    }
    // The commented metrics example, uncommented, is valid.
    let metrics = text
        .lines()
        .skip_while(|l| *l != "# metrics:")
        .take(2)
        .map(|l| l.trim_start_matches("# "))
        .collect::<Vec<_>>()
        .join("\n");
    let yaml = format!(
        "listeners: [{{address: '127.0.0.1:8080'}}]\n{}\n",
        metrics.split(" #").next().unwrap_or_default()
    );
    let c = Config::from_yaml_str(std::path::Path::new("x.yaml"), &yaml)
        .unwrap_or_else(|e| panic!("{yaml}: {e}"));
    assert_eq!(
        c.gateway.metrics.map(|m| m.address).as_deref(),
        Some("127.0.0.1:9100")
    );
}

#[test]
fn missing_file_is_named() {
    let out = Command::new(gateway_bin())
        .args(["-t", "-c", "/nonexistent/lambda-proxy.yaml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/nonexistent/lambda-proxy.yaml: cannot read file"),
        "{stderr}"
    );
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let yaml = "listeners: [{address: '127.0.0.1:1'}]\nroutes:\n  - name: r\n    uri: /x\n    function_uri: http://127.0.0.1:1/\n    authorization:\n      apikey: CANARY-APIKEY\n      iam: {accesskey: AKID, secretkey: CANARY-SECRET, session_token: CANARY-TOKEN}\n";
    let c = Config::from_yaml_str(std::path::Path::new("x.yaml"), yaml).unwrap();
    let table = lambda_proxy::routing::RouteTable::build(
        &c,
        &lambda_proxy::dns::Resolver::default(),
        &lambda_proxy::credentials::CredentialsRegistry::new(),
    )
    .unwrap();
    let dumps = format!("{c:?} {:?}", table.routes());
    for canary in ["CANARY-APIKEY", "CANARY-SECRET", "CANARY-TOKEN"] {
        assert!(!dumps.contains(canary), "{canary} in Debug output");
    }
    assert!(dumps.contains("AKID"));
}
