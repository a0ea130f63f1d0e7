//! Mutual TLS on a TLS listener (`tls.client_ca`, `tls.client_auth`): certificates made with the
//! openssl CLI at test time, requests made with curl (it presents client certificates), the
//! verified certificate's details in API Gateway v1/v2 events, and `-t` on bad CA files.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::*;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A self-signed CA `name` (`name.pem`, `name.key`).
fn make_ca(dir: &Path, name: &str) {
    let subj = format!("/O=Test/CN={name}");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &subj,
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
        ],
    );
}

/// A client certificate `name` signed by CA `ca` with serial `serial` (hex).
fn make_client(dir: &Path, ca: &str, name: &str, serial: &str) {
    let subj = format!("/O=Clients/CN={name}");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            &subj,
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-set_serial",
            &format!("0x{serial}"),
            "-days",
            "2",
            "-out",
            &format!("{name}.pem"),
        ],
    );
}

struct Setup {
    _emu: Emulator,
    gw: Gateway,
    dir: tempfile::TempDir,
    port: u16,
    server_ca: PathBuf,
}

/// A gateway with a plain listener and a TLS listener verifying clients against `good-ca`
/// (`client_auth`: `mode`, or unset), v1 and v2 API Gateway routes to the emulator's `proxy`.
fn setup(mode: Option<&str>) -> Setup {
    let emu = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    make_ca(dir.path(), "good-ca");
    make_ca(dir.path(), "other-ca");
    make_client(dir.path(), "good-ca", "alice", "0a1b2c");
    make_client(dir.path(), "other-ca", "mallory", "99");
    let port = free_port();
    let d = emu.dir.path().to_path_buf();
    let ca = dir.path().join("good-ca.pem");
    let config = GatewayConfig::new()
        .listener(([127, 0, 0, 1], free_port()).into())
        .listener_with(([127, 0, 0, 1], port).into(), |mut l| {
            let mut tls = serde_yaml::Mapping::from_iter([
                (yaml("cert"), yaml(d.join("cert.pem"))),
                (yaml("key"), yaml(d.join("key.pem"))),
                (yaml("client_ca"), yaml(&ca)),
            ]);
            if let Some(mode) = mode {
                tls.insert(yaml("client_auth"), yaml(mode));
            }
            l.insert(yaml("tls"), serde_yaml::Value::Mapping(tls));
            l
        })
        .routes([
            Route::function_name("v1", "proxy")
                .on(&emu)
                .uri("/v1/*")
                .api_gateway("1.0")
                .proxy_integration(),
            Route::function_name("v2", "proxy")
                .on(&emu)
                .uri("/v2/*")
                .api_gateway("2.0")
                .proxy_integration(),
        ]);
    let gw = Gateway::launch(&config);
    let server_ca = emu.ca_pem();
    Setup {
        _emu: emu,
        gw,
        dir,
        port,
        server_ca,
    }
}

impl Setup {
    /// `curl` to `path` on the TLS listener with client certificate `client` (or none): the
    /// event the function received, or curl's error.
    fn get(&self, path: &str, client: Option<&str>) -> Result<Value, String> {
        self.get_with(path, client, &[])
    }

    /// [`Setup::get`] with more curl arguments.
    fn get_with(&self, path: &str, client: Option<&str>, extra: &[&str]) -> Result<Value, String> {
        let mut c = Command::new("curl");
        c.args(extra);
        c.args(["-sS", "--fail", "--max-time", "20", "--cacert"])
            .arg(&self.server_ca)
            .arg(format!("https://localhost:{}{path}", self.port));
        if let Some(name) = client {
            c.arg("--cert")
                .arg(self.dir.path().join(format!("{name}.pem")))
                .arg("--key")
                .arg(self.dir.path().join(format!("{name}.key")));
        }
        let out = c.output().unwrap();
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(serde_json::from_slice(&out.stdout).expect("the event as JSON"))
    }
}

fn assert_alice(cert: &Value) {
    assert_eq!(cert["subjectDN"], "CN=alice,O=Clients", "{cert}");
    assert_eq!(cert["issuerDN"], "CN=good-ca,O=Test", "{cert}");
    assert_eq!(cert["serialNumber"], "0a:1b:2c", "{cert}");
    assert!(cert["clientCertPem"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----"));
    for field in ["notBefore", "notAfter"] {
        assert!(
            cert["validity"][field].as_str().unwrap().ends_with(" GMT"),
            "{cert}"
        );
    }
}

#[test]
fn required_client_certificates() {
    let s = setup(Some("required"));
    let err = s.get("/v2/x", None).unwrap_err();
    assert!(!err.is_empty());
    s.get("/v2/x", Some("mallory"))
        .expect_err("a certificate from another CA");
    let v2 = s.get("/v2/x", Some("alice")).unwrap();
    assert_alice(&v2["requestContext"]["authentication"]["clientCert"]);
    let v1 = s.get("/v1/x", Some("alice")).unwrap();
    assert_alice(&v1["requestContext"]["identity"]["clientCert"]);
    assert_eq!(v1["requestContext"]["protocol"], "HTTP/2.0");
    // HTTP/1.1 over TLS too.
    let v1 = s.get_with("/v1/x", Some("alice"), &["--http1.1"]).unwrap();
    assert_eq!(v1["requestContext"]["protocol"], "HTTP/1.1");
    assert_alice(&v1["requestContext"]["identity"]["clientCert"]);
    // A second connection resumes the TLS session (curl's session cache): OpenSSL refuses
    // that on a verifying server without a session id context.
    let base = format!("https://localhost:{}", s.port);
    let out = Command::new("curl")
        .args([
            "-sS",
            "--fail",
            "--http1.1",
            "-H",
            "connection: close",
            "--cacert",
        ])
        .arg(&s.server_ca)
        .arg("--cert")
        .arg(s.dir.path().join("alice.pem"))
        .arg("--key")
        .arg(s.dir.path().join("alice.key"))
        .args([format!("{base}/v2/a"), format!("{base}/v2/b")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let both = String::from_utf8(out.stdout).unwrap();
    assert_eq!(both.matches("CN=alice,O=Clients").count(), 2, "{both}");
    s.get_with("/v2/x", None, &["--http1.1"])
        .expect_err("no certificate (HTTP/1.1)");
    // Plain listeners never carry a certificate.
    let plain = Command::new("curl")
        .args(["-sS", "--fail", &s.gw.url("/v2/x")])
        .output()
        .unwrap();
    let plain: Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert!(plain["requestContext"].get("authentication").is_none());
    // The access log names the subject; the plain listener's request has `-`.
    s.gw.wait_for_log("client_cert=CN=alice,O=Clients\n");
    s.gw.wait_for_log("client_cert=-\n");
}

#[test]
fn client_auth_defaults_to_required() {
    let s = setup(None);
    s.get("/v2/x", None).expect_err("no certificate");
    assert!(s.get("/v2/x", Some("alice")).is_ok());
}

#[test]
fn optional_client_certificates() {
    let s = setup(Some("optional"));
    let v2 = s.get("/v2/x", None).unwrap();
    assert!(v2["requestContext"].get("authentication").is_none(), "{v2}");
    let v1 = s.get("/v1/x", None).unwrap();
    assert!(v1["requestContext"]["identity"]["clientCert"].is_null());
    let v2 = s.get("/v2/x", Some("alice")).unwrap();
    assert_alice(&v2["requestContext"]["authentication"]["clientCert"]);
    s.get("/v2/x", Some("mallory"))
        .expect_err("a certificate that is sent is verified");
}

#[test]
fn dash_t_names_a_bad_client_ca() {
    let emu_dir = tempfile::tempdir().unwrap();
    make_ca(emu_dir.path(), "srv");
    let dir = emu_dir.path();
    std::fs::write(dir.join("garbage.pem"), "not a certificate\n").unwrap();
    std::fs::write(
        dir.join("key-only.pem"),
        std::fs::read(dir.join("srv.key")).unwrap(),
    )
    .unwrap();
    // (client_ca, client_auth, the field named, what the reason says)
    let cases: [(&str, Option<&str>, &str, &str); 5] = [
        ("missing.pem", None, "tls.client_ca", "cannot read"),
        (
            "garbage.pem",
            None,
            "tls.client_ca",
            "holds no PEM certificate",
        ),
        (
            "key-only.pem",
            None,
            "tls.client_ca",
            "holds no PEM certificate",
        ),
        ("", Some("optional"), "tls.client_auth", "needs `client_ca`"),
        (
            "srv.pem",
            Some("sometimes"),
            "tls.client_auth",
            "unknown variant",
        ),
    ];
    for (i, (ca, mode, field, why)) in cases.into_iter().enumerate() {
        let path = dir.join(format!("c{i}.yaml"));
        let config = GatewayConfig::new()
            .listener_with(([127, 0, 0, 1], free_port()).into(), |mut l| {
                let mut tls = serde_yaml::Mapping::from_iter([
                    (yaml("cert"), yaml(dir.join("srv.pem"))),
                    (yaml("key"), yaml(dir.join("srv.key"))),
                ]);
                if !ca.is_empty() {
                    tls.insert(yaml("client_ca"), yaml(dir.join(ca)));
                }
                if let Some(mode) = mode {
                    tls.insert(yaml("client_auth"), yaml(mode));
                }
                l.insert(yaml("tls"), serde_yaml::Value::Mapping(tls));
                l
            })
            .route(Route::function_uri("/x", "http://127.0.0.1:1/").name("r"));
        std::fs::write(&path, config.to_yaml()).unwrap();
        let out = run_dash_t(&path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "case {i} passed -t");
        let want = format!("{}: listeners[0].{field}: ", path.display());
        assert!(
            stderr.contains(&want) && stderr.contains(why),
            "case {i}: wanted {want:?} and {why:?} in:\n{stderr}"
        );
    }
}
