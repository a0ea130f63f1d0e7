//! The command line as documented: `lambda-proxy --help`, the man page (docs/lambda-proxy.8,
//! shipped in the Debian package) and the README's "Running it" name the same options.

use std::collections::BTreeSet;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_lambda-proxy");

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("run lambda-proxy");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).expect(path)
}

/// (short, long) pairs from `--help`'s option lines: `  -c, --conf <FILE>  ...`.
fn help_options(help: &str) -> BTreeSet<(String, String)> {
    help.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let (short, rest) = l.split_once(", ")?;
            let long = rest.split_whitespace().next()?;
            (short.len() == 2 && short.starts_with('-') && long.starts_with("--"))
                .then(|| (short.to_string(), long.to_string()))
        })
        .collect()
}

/// (short, long) pairs from the man page's OPTIONS section: `.BR \-c ", " \-\-conf ...`.
fn man_options(man: &str) -> BTreeSet<(String, String)> {
    let section = man
        .split("\n.SH ")
        .find(|s| s.starts_with("OPTIONS"))
        .expect("an OPTIONS section");
    section
        .lines()
        .filter(|l| l.starts_with(".BR \\-"))
        .map(|l| {
            let words: Vec<String> = l
                .split_whitespace()
                .filter(|w| w.starts_with("\\-"))
                .map(|w| w.replace("\\-", "-"))
                .collect();
            assert_eq!(words.len(), 2, "short and long option in {l:?}");
            (words[0].clone(), words[1].clone())
        })
        .collect()
}

#[test]
fn help_man_page_and_readme_name_the_same_options() {
    let (code, help, stderr) = run(&["--help"]);
    assert_eq!(code, 0, "{stderr}");
    let from_help = help_options(&help);
    let from_man = man_options(&repo_file("docs/lambda-proxy.8"));
    let expected: BTreeSet<(String, String)> = [
        ("-c", "--conf"),
        ("-t", "--test"),
        ("-d", "--daemon"),
        ("-u", "--upgrade"),
        ("-h", "--help"),
        ("-V", "--version"),
    ]
    .iter()
    .map(|(s, l)| (s.to_string(), l.to_string()))
    .collect();
    assert_eq!(from_help, expected, "--help:\n{help}");
    assert_eq!(from_man, expected, "docs/lambda-proxy.8 OPTIONS");

    let readme = repo_file("README.md");
    let running = readme
        .split("\n## ")
        .find(|s| s.starts_with("Running it"))
        .expect("README section \"Running it\"");
    for (short, long) in &expected {
        assert!(
            running.contains(&format!("`{short}")) && running.contains(&format!("`{long}")),
            "README \"Running it\" does not mention `{short}` / `{long}`"
        );
    }

    // The help names what the man page documents beyond the flags.
    for word in [
        "/etc/lambda-proxy/lambda-proxy.yaml",
        "SIGHUP",
        "SIGQUIT",
        "SIGTERM",
        "RUST_LOG",
        "lambda-proxy(8)",
    ] {
        assert!(help.contains(word), "--help lacks {word}:\n{help}");
    }
}

#[test]
fn version_and_bad_arguments() {
    let (code, out, _) = run(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        format!("lambda-proxy {}", env!("CARGO_PKG_VERSION"))
    );
    let (code, _, err) = run(&["--no-such-option"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--no-such-option"), "{err}");
}
