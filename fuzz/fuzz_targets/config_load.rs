//! `config::Config::from_yaml_str` on arbitrary UTF-8 text.
//!
//! Checks: loading never panics; every error's `Display` starts with the file name (the
//! `conf/x.yaml: field: reason` contract of `config/mod.rs`) and its `file` is that file; an
//! accepted file has at least one listener, and loading the same text again gives the same
//! outcome (validation is deterministic).
#![no_main]

use std::path::Path;

use lambda_proxy::config::Config;
use libfuzzer_sys::fuzz_target;

const FILE: &str = "fuzz/conf-under-test.yaml";

fuzz_target!(|text: &str| {
    let file = Path::new(FILE);
    match Config::from_yaml_str(file, text) {
        Ok(conf) => {
            assert_eq!(conf.file, file);
            assert!(!conf.gateway.listeners.is_empty());
            assert!(Config::from_yaml_str(file, text).is_ok());
        }
        Err(e) => {
            assert_eq!(e.file, file);
            let shown = e.to_string();
            assert!(
                shown.starts_with(&format!("{FILE}: ")),
                "error does not name the file: {shown:?}"
            );
            assert_eq!(Config::from_yaml_str(file, text).err(), Some(e));
        }
    }
});
