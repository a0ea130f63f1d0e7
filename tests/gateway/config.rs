//! Configuration loading: the reference file loads, `-t` checks the whole file, and every
//! error names the file, the field path and the reason.

use std::process::Command;

use crate::common::*;
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
        "client.body_timeout: 0 ms is too short (the unit is milliseconds; at least 100)",
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
    ("\n  format: text ", "\n  format: xml ", "access_log.format"),
    (
        "\n  enabled: true ",
        "\n  enabled: maybe ",
        "access_log.enabled",
    ),
    (
        "\n  queue_size: 8192 ",
        "\n  queue_size: 0 ",
        "access_log.queue_size: must be 1 to 1048576 lines",
    ),
    // Lint: what parses but cannot be meant (src/config/lint.rs).
    (
        "    methods: [GET, POST]",
        "    methods: [GETT, POST]",
        "routes[1].methods[0]: `GETT` is not an HTTP method: did you mean GET?",
    ),
    (
        "    methods: [GET, POST]",
        "    methods: [GET, PSOT]",
        "routes[1].methods[1]: `PSOT` is not an HTTP method: did you mean POST?",
    ),
    (
        "    # timeout: 30000",
        "    timeout: 3",
        "routes[0].timeout: 3 ms is too short (the unit is milliseconds; at least 100): did you mean 3000 (3 s)?",
    ),
    (
        "    connect_timeout: 3000",
        "    connect_timeout: 5",
        "routes[0].connect_timeout: 5 ms is too short (the unit is milliseconds; at least 100): did you mean 5000 (5 s)?",
    ),
    (
        "    keepalive_timeout: 60000",
        "    keepalive_timeout: 60",
        "routes[0].keepalive_timeout: 60 ms is too short",
    ),
    (
        "    # keepalive: 60000 ",
        "    keepalive: 60 ",
        "routes[2].keepalive: 60 ms is too short",
    ),
    (
        "  send_timeout: 60000 ",
        "  send_timeout: 60 ",
        "client.send_timeout: 60 ms is too short",
    ),
    (
        "    function_uri: https://abc123.execute-api.us-east-1.amazonaws.com/prod",
        "    plugins:\n      aws-lambda:\n        function_uri: https://abc123.execute-api.us-east-1.amazonaws.com/prod\n        timeout: 3000",
        "routes[0].plugins: plugin blocks are not nested here: a route carries the aws-lambda plugin's fields itself: move `function_uri`, `timeout` out of the `aws-lambda` block onto the route, next to `name` and `uri`, and delete `plugins`",
    ),
    (
        "    function_name: orders-handler",
        "    plugins:\n      - name: aws-lambda\n        config: {function_name: orders-handler}\n      - name: key-auth",
        "routes[2].plugins: plugin blocks are not nested here: a route carries the aws-lambda plugin's fields itself: move `function_name` out of the `aws-lambda` block onto the route, next to `name` and `uri`, and delete `plugins`; other plugins (key-auth) have no equivalent here",
    ),
    (
        "    uri: /thumbs/*",
        "    uri: /orders/*",
        "routes[1].uri: route `thumbnails` can never match: route `orders` comes first with the same path `/orders/*`, no hosts and methods that include all of this route's",
    ),
    (
        "    uri: /invoke/*",
        "    uri: /%6Frders/*",
        "routes[2].uri: route `invoke-orders` can never match: route `orders` comes first with the same path `/orders/*`",
    ),
    // Migration spellings (docs/kong-apisix-mapping.md).
    (
        "    # proxy_url: http://proxy.internal:3128",
        "    proxy_url: http://proxy.internal:3128\n    proxy_scheme: socks5",
        "routes[2].proxy_scheme: `socks5` is not http or https",
    ),
    (
        "    # proxy_url: http://proxy.internal:3128",
        "    proxy_url: http://proxy.internal:3128\n    proxy_scheme: http",
        "routes[2].proxy_scheme: `http` disagrees with the endpoint, which is https (disable_https is false)",
    ),
    (
        "    # proxy_url: http://proxy.internal:3128",
        "    proxy_scheme: https",
        "routes[2].proxy_scheme: only applies with `proxy_url`",
    ),
    (
        "        secretkey: \"replace-me\"",
        "        secretkey: \"replace-me\"\n        secret_key: x",
        "routes[1].authorization.iam: duplicate field `secretkey`",
    ),
    (
        "    is_proxy_integration: true ",
        "    is_proxy_integration: true \n    request_payload: raw",
        "routes[2].request_payload: `raw` conflicts with awsgateway_compatible, which builds its own event",
    ),
    (
        "    # max_body_size: bytes.",
        "    request_payload: args\n    # max_body_size: bytes.",
        "routes[0].request_payload: only applies to `function_name` routes",
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
        let out = run_dash_t(&path);
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
        "api_keys",
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
    let table = lambda_proxy::routing::RouteTable::build(&c, &lambda_proxy::routing::Shared::new())
        .unwrap();
    let dumps = format!("{c:?} {:?}", table.routes());
    for canary in ["CANARY-APIKEY", "CANARY-SECRET", "CANARY-TOKEN"] {
        assert!(!dumps.contains(canary), "{canary} in Debug output");
    }
    assert!(dumps.contains("AKID"));
}

/// A self-signed certificate for `localhost` and its key (P-256), as PEM files in `dir`.
fn self_signed(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::{X509NameBuilder, X509};
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut subject = X509NameBuilder::new().unwrap();
    subject.append_entry_by_text("CN", "localhost").unwrap();
    let subject = subject.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&subject).unwrap();
    b.set_issuer_name(&subject).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(2).unwrap())
        .unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    let cert = dir.join(format!("{name}.crt"));
    let key_path = dir.join(format!("{name}.key"));
    std::fs::write(&cert, b.build().to_pem().unwrap()).unwrap();
    std::fs::write(&key_path, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    (cert, key_path)
}

/// `-t` on a file with one listener at `address`, with `tls` (cert, key) when given.
fn dash_t(
    dir: &std::path::Path,
    address: &str,
    tls: Option<(&std::path::Path, &std::path::Path)>,
) -> (bool, String) {
    let path = dir.join("t.yaml");
    let config = GatewayConfig::new()
        .listener_with(address.parse().unwrap(), |mut listener| {
            if let Some((cert, key)) = tls {
                let mut t = serde_yaml::Mapping::new();
                t.insert(yaml("cert"), yaml(cert));
                t.insert(yaml("key"), yaml(key));
                listener.insert(yaml("tls"), serde_yaml::Value::Mapping(t));
            }
            listener
        })
        .route(Route::function_uri("/x", "http://127.0.0.1:1/").name("r"));
    std::fs::write(&path, config.to_yaml()).unwrap();
    let out = run_dash_t(&path);
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn dash_t_refuses_a_certificate_and_key_that_do_not_match() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_a, key_a) = self_signed(dir.path(), "a");
    let (_, key_b) = self_signed(dir.path(), "b");
    let address = format!("127.0.0.1:{}", free_port());
    fn tls<'a>(
        cert: &'a std::path::Path,
        key: &'a std::path::Path,
    ) -> Option<(&'a std::path::Path, &'a std::path::Path)> {
        Some((cert, key))
    }

    let (ok, out) = dash_t(dir.path(), &address, tls(&cert_a, &key_a));
    assert!(ok, "a matching pair passes: {out}");

    let (ok, out) = dash_t(dir.path(), &address, tls(&cert_a, &key_b));
    assert!(!ok, "a key of another certificate passed -t: {out}");
    let want = format!(
        "listeners[0].tls: the private key {} does not match the certificate {}",
        key_b.display(),
        cert_a.display()
    );
    assert!(out.contains(&want), "wanted {want:?} in {out}");

    let missing = dir.path().join("missing.key");
    let (ok, out) = dash_t(dir.path(), &address, tls(&cert_a, &missing));
    assert!(!ok);
    assert!(
        out.contains(&format!(
            "listeners[0].tls.key: cannot read `{}`",
            missing.display()
        )),
        "{out}"
    );
}

#[test]
fn dash_t_refuses_an_address_another_program_holds() {
    let dir = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = busy.local_addr().unwrap().to_string();
    let (ok, out) = dash_t(dir.path(), &address, None);
    assert!(!ok, "-t passed on a busy address: {out}");
    assert!(
        out.contains(&format!(
            "listeners[0].address: {address} is in use by another program"
        )),
        "{out}"
    );
    drop(busy);
    let (ok, out) = dash_t(dir.path(), &address, None);
    assert!(ok, "free again: {out}");
}

/// A minimal file whose three secret fields are the given values (references or literals).
fn secret_refs_yaml(apikey: &str, iam_secret: &str, invoke_secret: &str) -> String {
    format!(
        "listeners: [{{address: '127.0.0.1:1'}}]\nroutes:\n\
         \x20 - name: keyed\n    uri: /k\n    function_uri: http://127.0.0.1:1/\n    authorization:\n      apikey: {apikey}\n\
         \x20 - name: signed\n    uri: /s\n    function_uri: http://127.0.0.1:1/\n    authorization:\n      iam: {{accesskey: $env://LP_TEST_AKID, secretkey: {iam_secret}}}\n\
         \x20 - name: invoke\n    uri: /i\n    function_name: f\n    aws_region: us-east-1\n    aws_key: AKID\n    aws_secret: {invoke_secret}\n"
    )
}

fn dash_t_env(path: &std::path::Path, env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(gateway_bin());
    cmd.arg("-t").arg("-c").arg(path);
    for k in [
        "LP_TEST_AKID",
        "LP_TEST_APIKEY",
        "LP_TEST_SECRET",
        "CREDENTIALS_DIRECTORY",
    ] {
        cmd.env_remove(k);
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn secret_references_resolve_at_load_or_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("iam-secret"), "FileSecretValue-1234\n").unwrap();
    let creds = dir.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("invoke-secret"), "CredentialSecretValue-5678").unwrap();
    let path = dir.path().join("refs.yaml");
    std::fs::write(
        &path,
        secret_refs_yaml(
            "$env://LP_TEST_APIKEY",
            "$file://iam-secret",
            "$credential://invoke-secret",
        ),
    )
    .unwrap();
    let all = [
        ("LP_TEST_AKID", "AKIDFROMENV"),
        ("LP_TEST_APIKEY", "EnvApiKeyValue-9012"),
        ("CREDENTIALS_DIRECTORY", creds.to_str().unwrap()),
    ];

    // Everything set: -t passes and prints no value.
    let (ok, stdout, stderr) = dash_t_env(&path, &all);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("configuration OK (1 listeners, 3 routes)"));
    for v in ["EnvApiKeyValue", "FileSecretValue", "CredentialSecretValue"] {
        assert!(!stdout.contains(v) && !stderr.contains(v), "{v} printed");
    }
    // The values are the referenced ones, the file's line break trimmed.
    std::env::set_var("LP_TEST_APIKEY", "EnvApiKeyValue-9012");
    std::env::set_var("LP_TEST_AKID", "AKIDFROMENV");
    std::env::set_var("CREDENTIALS_DIRECTORY", &creds);
    let c = Config::load(&path).unwrap();
    // This binary's other tests run beside this one: the variables go at once (no other test
    // reads them, and the gateways they start are given their environment explicitly).
    for (k, _) in all {
        std::env::remove_var(k);
    }
    let r = &c.gateway.routes;
    let auth = r[0].authorization.as_ref().unwrap();
    assert_eq!(
        auth.apikey.as_ref().unwrap().expose(),
        "EnvApiKeyValue-9012"
    );
    let iam = r[1].authorization.as_ref().unwrap().iam.as_ref().unwrap();
    assert_eq!(iam.accesskey.as_deref(), Some("AKIDFROMENV"));
    assert_eq!(
        iam.secretkey.as_ref().unwrap().expose(),
        "FileSecretValue-1234"
    );
    assert_eq!(
        r[2].aws_secret.as_ref().unwrap().expose(),
        "CredentialSecretValue-5678"
    );

    // Each missing piece: the field path and the reference, never a value.
    let p = path.display();
    for (drop, want) in [
        (
            "LP_TEST_APIKEY",
            format!("{p}: routes[0].authorization.apikey: environment variable LP_TEST_APIKEY is not set (reference `$env://LP_TEST_APIKEY`)"),
        ),
        (
            "LP_TEST_AKID",
            format!("{p}: routes[1].authorization.iam.accesskey: environment variable LP_TEST_AKID is not set"),
        ),
        (
            "CREDENTIALS_DIRECTORY",
            format!("{p}: routes[2].aws_secret: CREDENTIALS_DIRECTORY is not set"),
        ),
    ] {
        let env: Vec<_> = all.iter().copied().filter(|(k, _)| *k != drop).collect();
        let (ok, _, stderr) = dash_t_env(&path, &env);
        assert!(!ok, "passed without {drop}");
        assert!(stderr.contains(&want), "wanted {want:?} in:\n{stderr}");
    }
    std::fs::remove_file(dir.path().join("iam-secret")).unwrap();
    let (ok, _, stderr) = dash_t_env(&path, &all);
    assert!(!ok);
    assert!(
        stderr.contains(&format!(
            "{p}: routes[1].authorization.iam.secretkey: cannot read "
        )) && stderr.contains("(reference `$file://iam-secret`)"),
        "{stderr}"
    );
}

#[test]
fn interpolation_lookalikes_and_unquoted_vault_references_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (apikey, want) in [
        (
            "'${LP_TEST_APIKEY}'",
            "routes[0].authorization.apikey: `${LP_TEST_APIKEY}` is not expanded here (it would be used literally); to read the environment variable write `$env://LP_TEST_APIKEY`",
        ),
        (
            "{vault://env/lp-test-apikey}",
            "routes[0].authorization.apikey: a Kong vault reference must be quoted",
        ),
        (
            "'{vault://hcv/lp-test-apikey}'",
            "routes[0].authorization.apikey: `{vault://hcv/lp-test-apikey}`: only Kong's `env` vault is supported",
        ),
    ] {
        let path = dir.path().join("x.yaml");
        std::fs::write(&path, secret_refs_yaml(apikey, "s", "s")).unwrap();
        let (ok, _, stderr) = dash_t_env(&path, &[("LP_TEST_AKID", "AKID")]);
        assert!(!ok, "{apikey} accepted");
        assert!(stderr.contains(want), "wanted {want:?} in:\n{stderr}");
    }
    // Kong's env vault spelling resolves (`-` -> `_`, upper case).
    let path = dir.path().join("kong.yaml");
    std::fs::write(
        &path,
        secret_refs_yaml("'{vault://env/lp-test-apikey}'", "s", "s"),
    )
    .unwrap();
    let (ok, stdout, stderr) = dash_t_env(
        &path,
        &[
            ("LP_TEST_AKID", "AKID"),
            ("LP_TEST_APIKEY", "from-kong-ref"),
        ],
    );
    assert!(ok, "{stdout}{stderr}");
}

/// Accepted but probably not meant: the file loads, and `-t` (like every load) logs a warning
/// with the field path.
#[test]
fn lint_warnings_name_the_field_and_do_not_fail() {
    let reference = std::fs::read_to_string(repo_path(REFERENCE)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (i, (from, to, expected)) in [
        (
            "    methods: [GET, POST]",
            "    methods: [GET, POST, PURGE]",
            "routes[1].methods[2]: `PURGE` is not a registered HTTP method",
        ),
        (
            "    uri: /thumbs/*",
            "    uris: [/orders/*, /thumbs/*]",
            "routes[1].uris[0]: `/orders/*` never reaches route `thumbnails`: route `orders` comes first",
        ),
    ]
    .iter()
    .enumerate()
    {
        assert!(reference.contains(from), "reference lacks {from:?}");
        let path = dir.path().join(format!("warn-{i}.yaml"));
        std::fs::write(&path, reference.replacen(from, to, 1)).unwrap();
        let c = Config::load(&path).expect("loads");
        let want = format!("{}: {expected}", path.display());
        assert!(
            c.warnings.iter().any(|w| w.contains(&want)),
            "{want:?} not in {:?}",
            c.warnings
        );
        let out = run_dash_t(&path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "case {i}: {stderr}");
        assert!(
            stderr.contains("WARN") && stderr.contains(&want),
            "case {i}: wanted {want:?} in:\n{stderr}"
        );
    }
    // The reference itself is clean.
    let c = Config::load(repo_path(REFERENCE)).unwrap();
    assert_eq!(c.warnings, Vec::<String>::new());
}

/// Kong's and APISIX's spellings load: `proxy_scheme` with `proxy_url`, `secret_key`.
#[test]
fn migration_spellings_load() {
    let reference = std::fs::read_to_string(repo_path(REFERENCE)).unwrap();
    let text = reference
        .replacen(
            "    # proxy_url: http://proxy.internal:3128",
            "    proxy_url: http://proxy.internal:3128\n    proxy_scheme: https",
            1,
        )
        .replacen(
            "        secretkey: \"replace-me\"",
            "        secret_key: \"from-the-alias\"",
            1,
        );
    assert_ne!(text, reference);
    let c = Config::from_yaml_str(&repo_path(REFERENCE), &text).expect("loads");
    let r = &c.gateway.routes;
    assert_eq!(r[2].proxy_scheme.as_deref(), Some("https"));
    let iam = r[1].authorization.as_ref().unwrap().iam.as_ref().unwrap();
    assert_eq!(iam.secretkey.as_ref().unwrap().expose(), "from-the-alias");
}
