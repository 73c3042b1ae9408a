//! Training settings from `--config FILE.toml`: the keys are the fields of the model's
//! parameter type (e.g. `TarNetParams`); unknown keys and values of the wrong type are rejected
//! with the key's name, and the result is checked with the type's `Params::validate`.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Reads a TOML file into a table; the error names the file (and toml's line and column).
pub fn read_table(path: &Path) -> Result<toml::Table> {
    if path.is_dir() {
        bail!("--config {}: is a directory, expected a TOML file", path.display());
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("--config {}", path.display()))?;
    text.parse::<toml::Table>()
        .map_err(|e| anyhow!("--config {}: not valid TOML: {}", path.display(), e.to_string().trim()))
}

/// The sub-keys a user may give in an `ipm = { kind = …, … }` table, by kind.
const IPM_KEYS: &[(&str, &[&str])] = &[
    ("linear-mmd", &["kind"]),
    ("rbf-mmd", &["kind", "sigma"]),
    ("wasserstein", &["kind", "epsilon", "relative", "max_iter", "tol"]),
];

/// A full `ipm` value from the user's table: defaults for the chosen kind, then the user's keys.
fn ipm_value(table: &toml::Table, file: &str) -> Result<Value> {
    let kind = match table.get("kind") {
        Some(toml::Value::String(s)) => s.as_str(),
        Some(other) => bail!("--config {file}: key `ipm.kind` = {other}: expected a string"),
        None => bail!("--config {file}: key `ipm` needs `kind` = \"linear-mmd\", \"rbf-mmd\" or \"wasserstein\""),
    };
    let Some((_, allowed)) = IPM_KEYS.iter().find(|(k, _)| *k == kind) else {
        bail!("--config {file}: key `ipm.kind` = \"{kind}\": expected \"linear-mmd\", \"rbf-mmd\" or \"wasserstein\"");
    };
    let mut v = match kind {
        "linear-mmd" => json!({ "kind": "linear-mmd" }),
        "rbf-mmd" => json!({ "kind": "rbf-mmd", "sigma": 1.0 }),
        _ => json!({ "kind": "wasserstein", "epsilon": 0.1, "relative": true, "max_iter": 100, "tol": 1e-4 }),
    };
    for (k, val) in table {
        if !allowed.contains(&k.as_str()) {
            bail!("--config {file}: unknown key `ipm.{k}` for kind \"{kind}\"; valid keys: {}", allowed.join(", "));
        }
        v[k] = serde_json::to_value(val)?;
    }
    Ok(v)
}

/// `base` with the keys of `table` replaced. `file` names the source in messages.
pub fn apply<P: Serialize + DeserializeOwned>(base: &P, table: &toml::Table, file: &str) -> Result<P> {
    let base_v = serde_json::to_value(base)?;
    let Value::Object(fields) = &base_v else { bail!("internal: parameters are not a table") };
    let mut merged = base_v.clone();
    for (k, val) in table {
        if !fields.contains_key(k) {
            let mut keys: Vec<&str> = fields.keys().map(String::as_str).collect();
            keys.sort_unstable();
            bail!("--config {file}: unknown key `{k}`; valid keys: {}", keys.join(", "));
        }
        let v = match (k.as_str(), val) {
            ("ipm", toml::Value::Table(t)) => ipm_value(t, file)?,
            _ => serde_json::to_value(val)?,
        };
        // Check this key alone, so a type error names it.
        let mut single = base_v.clone();
        single[k] = v.clone();
        if let Err(e) = serde_json::from_value::<P>(single) {
            bail!("--config {file}: {}", wrong_value(k, val, &e.to_string()));
        }
        merged[k] = v;
    }
    serde_json::from_value(merged).with_context(|| format!("--config {file}"))
}

/// How many characters of a value a message shows.
const SHOWN_CHARS: usize = 40;

/// One line for a value serde would not take: the key, the value (clipped when long), what was
/// expected in words and what kind of value was found.
fn wrong_value(key: &str, val: &toml::Value, serde_message: &str) -> String {
    let text = val.to_string().replace(['\n', '\r'], " ");
    let n = text.chars().count();
    let shown = if n > SHOWN_CHARS {
        format!("{}… ({n} characters)", text.chars().take(SHOWN_CHARS).collect::<String>())
    } else {
        text
    };
    let expected = serde_message.rsplit_once(", expected ").map_or(serde_message, |(_, e)| e);
    let expected = match expected.trim() {
        "usize" | "u64" | "u32" => "a whole number ≥ 0".to_string(),
        "f64" | "f32" => "a number".to_string(),
        "a boolean" | "bool" => "true or false".to_string(),
        e if e.starts_with("internally tagged enum") => {
            "a table such as { kind = \"rbf-mmd\", sigma = 1.0 }".to_string()
        }
        e => e.to_string(),
    };
    format!("key `{key}` = {shown}: expected {expected}, found {} {}", article(val.type_str()), val.type_str())
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ite_nets::TarNetParams;

    fn t(s: &str) -> toml::Table {
        s.parse().unwrap()
    }

    #[test]
    fn keys_replace_fields_and_unknown_or_mistyped_keys_are_named() {
        let p = apply(&TarNetParams::study_small(), &t("max_epochs = 7\nlearning_rate = 0.01"), "c.toml").unwrap();
        assert_eq!((p.max_epochs, p.learning_rate, p.batch_size), (7, 0.01, 32));
        let p = apply(&p, &t("ipm = { kind = \"rbf-mmd\", sigma = 2.0 }\nalpha = 1.0"), "c.toml").unwrap();
        assert_eq!(p.ipm, ite_nets::Ipm::RbfMmd { sigma: 2.0 });
        let e = apply(&p, &t("max_epoch = 7"), "c.toml").unwrap_err().to_string();
        assert!(e.contains("c.toml: unknown key `max_epoch`; valid keys:") && e.contains("max_epochs"), "{e}");
        let e = apply(&p, &t("batch_size = \"big\""), "c.toml").unwrap_err().to_string();
        assert!(e.contains("key `batch_size`"), "{e}");
        let e = apply(&p, &t("ipm = { kind = \"rbf-mmd\", epsilon = 1.0 }"), "c.toml").unwrap_err().to_string();
        assert!(e.contains("unknown key `ipm.epsilon`"), "{e}");
    }

    #[test]
    fn values_of_the_wrong_kind_name_the_key_and_the_expected_kind() {
        let p = TarNetParams::study_small();
        let cases = [
            ("batch_size = \"big\"", "c.toml: key `batch_size` = \"big\": expected a whole number ≥ 0, found a string"),
            ("max_epochs = 1.5", "key `max_epochs` = 1.5: expected a whole number ≥ 0, found a float"),
            ("learning_rate = \"fast\"", "key `learning_rate` = \"fast\": expected a number, found a string"),
            ("standardize_x = 1", "key `standardize_x` = 1: expected true or false, found an integer"),
            ("ipm = \"rbf\"", "key `ipm` = \"rbf\": expected a table such as { kind = \"rbf-mmd\", sigma = 1.0 }"),
        ];
        for (toml, want) in cases {
            let e = apply(&p, &t(toml), "c.toml").unwrap_err().to_string();
            assert!(e.contains(want), "{toml}: {e}");
        }
        let long = format!("learning_rate = \"{}\"", "z".repeat(3000));
        let e = apply(&p, &t(&long), "c.toml").unwrap_err().to_string();
        assert!(e.contains("… (3002 characters): expected a number, found a string") && e.len() < 200, "{e}");
    }
}
