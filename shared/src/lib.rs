//! Everything the VideoSDK Lambda functions share: token claims and the policy that decides
//! them, configuration, the secret, the VideoSDK REST client and the HTTP envelope.
//!
//! Data flows one way: event → [`http::Fields`] and [`ids`] (parse) → [`caller`] and [`policy`]
//! (decide) → [`claims`] or [`videosdk`] (sign or call) → [`http`] (respond).

pub mod app;
pub mod caller;
pub mod claims;
pub mod client_api;
pub mod config;
pub mod control;
pub mod credentials;
pub mod deadline;
pub mod error;
pub mod events;
pub mod guard;
pub mod http;
pub mod ids;
pub mod livestream;
pub mod metrics;
pub mod net;
pub mod policy;
pub mod ratelimit;
pub mod secret;
pub mod signature;
pub mod videosdk;
pub mod webhook;

pub use app::{State, Uses};
pub use error::ApiError;
pub use tracing;

/// The modules' layering, checked: each imports only from layers below its own.
#[cfg(test)]
mod layering {
    use std::collections::BTreeSet;
    use std::path::Path;

    /// Bottom to top.
    const LAYERS: &[&[&str]] = &[
        &["credentials", "ids", "deadline", "net", "signature", "guard", "metrics"],
        &["error", "claims"],
        &["config"],
        &["secret", "caller"],
        &["videosdk", "policy", "client_api", "events", "ratelimit"],
        &["http"],
        &["livestream", "control", "webhook"],
        &["app"],
    ];

    fn layer(module: &str) -> usize {
        LAYERS.iter().position(|l| l.contains(&module)).unwrap_or_else(|| panic!("module {module} has no layer"))
    }

    /// The modules a source text names as `crate::x` or in `crate::{x, y::z}`.
    fn imports(text: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for (at, _) in text.match_indices("crate::") {
            let rest = &text[at + "crate::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group[..group.find('}').unwrap_or(group.len())].split(',').collect(),
                None => vec![rest],
            };
            for name in names {
                let name: String = name.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        }
        found
    }

    #[test]
    fn each_module_imports_only_lower_layers() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut checked = 0;
        let mut wrong = Vec::new();
        for module in LAYERS.iter().flat_map(|l| l.iter()) {
            let file = src.join(format!("{module}.rs"));
            let mut texts = vec![std::fs::read_to_string(&file).unwrap_or_default()];
            if let Ok(dir) = std::fs::read_dir(src.join(module)) {
                texts.extend(dir.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()));
            }
            assert!(texts.iter().any(|t| !t.is_empty()), "no source for {module}");
            for used in texts.iter().flat_map(|t| imports(t)) {
                if used != *module && layer(&used) >= layer(module) {
                    wrong.push(format!("{module} (layer {}) imports {used} (layer {})", layer(module), layer(&used)));
                }
            }
            checked += 1;
        }
        assert!(wrong.is_empty(), "imports against the layering:\n{}", wrong.join("\n"));
        assert_eq!(checked, LAYERS.iter().map(|l| l.len()).sum::<usize>());
    }

    #[test]
    fn every_module_has_a_layer() {
        let lib = include_str!("lib.rs");
        for line in lib.lines().filter_map(|l| l.strip_prefix("pub mod ")) {
            layer(line.trim_end_matches(';'));
        }
    }

    /// The section `[name]` of a Cargo.toml text, up to the next section.
    fn section<'a>(manifest: &'a str, name: &str) -> &'a str {
        let Some(start) = manifest.find(&format!("\n[{name}]\n")) else { return "" };
        let body = &manifest[start + name.len() + 4..];
        &body[..body.find("\n[").unwrap_or(body.len())]
    }

    /// This crate is product code only: no feature (which could switch test code on in a
    /// bootstrap), no test crate among its dependencies, and no function depends on the test kit
    /// outside its dev-dependencies.
    #[test]
    fn ships_no_test_support() {
        const TEST_CRATES: &[&str] = &["testkit", "wiremock", "proptest", "tracing-subscriber", "criterion"];
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let own = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(!own.contains("\n[features]"), "shared has a [features] section");
        let mut manifests = vec![("shared".to_string(), own)];
        for entry in std::fs::read_dir(root.join("../functions")).unwrap() {
            let path = entry.unwrap().path().join("Cargo.toml");
            manifests.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
        }
        assert!(manifests.len() > 10, "the functions' manifests were not found");
        for (name, manifest) in &manifests {
            let deps = section(manifest, "dependencies");
            assert!(!deps.is_empty(), "{name}: no [dependencies]");
            for line in deps.lines() {
                let dep = line.split(['=', '.', ' ']).next().unwrap_or("");
                assert!(!TEST_CRATES.contains(&dep), "{name} depends on {dep} outside [dev-dependencies]");
                assert!(!line.contains("features = [\"testing\"]"), "{name}: {line}");
            }
        }
        let src = root.join("src");
        for entry in std::fs::read_dir(&src).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(!text.contains(concat!("cfg(", "feature")), "{}: code behind a feature", path.display());
            }
        }
    }

    #[test]
    fn imports_are_found_in_paths_and_groups() {
        let text = "use crate::a::B;\nuse crate::{c, d::E};\n/// [`x`](crate::doc::X)";
        assert_eq!(imports(text), ["a", "c", "d", "doc"].into_iter().map(String::from).collect());
    }
}
