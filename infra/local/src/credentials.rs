//! The local API's access keys: `make local` creates `.local/credentials` once, an AWS
//! shared-credentials file with one profile per access level (`campaign-operator`,
//! `campaign-admin`), random keys, mode 0600, and keeps it across runs. The local runtime's
//! verifier ([`crate::api_auth`]) knows these keys only; any SDK or CLI signs with them through
//! `AWS_SHARED_CREDENTIALS_FILE=.local/credentials AWS_PROFILE=campaign-admin`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use api_signing::AccessKey;

/// Overrides where the credentials file is (default `.local/credentials` at the repository root).
pub const CREDENTIALS_FILE_VARIABLE: &str = "LOCAL_CREDENTIALS_FILE";

/// Profile name → logical id of the template's managed policy that grants it its routes.
pub const PROFILES: [(&str, &str); 2] = [
    ("campaign-operator", "OperatorAccessPolicy"),
    ("campaign-admin", "AdminAccessPolicy"),
];

/// One profile's key and the policy that decides what it may call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalKey {
    pub profile: String,
    /// Logical id of the managed policy in template.yaml.
    pub policy: String,
    pub key: AccessKey,
}

/// Every profile's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCredentials {
    pub keys: Vec<LocalKey>,
}

impl LocalCredentials {
    /// The key of `profile`.
    pub fn key(&self, profile: &str) -> Option<&AccessKey> {
        self.keys
            .iter()
            .find(|k| k.profile == profile)
            .map(|k| &k.key)
    }
}

/// The credentials file: `LOCAL_CREDENTIALS_FILE`, else `.local/credentials` at the
/// repository root.
pub fn path() -> PathBuf {
    std::env::var_os(CREDENTIALS_FILE_VARIABLE)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.local/credentials"))
}

/// The keys in `path`, created there first (mode 0600) if the file does not exist. Creation is
/// atomic: a concurrent caller reads the same keys, never half a file.
pub fn load_or_create(path: &Path) -> Result<LocalCredentials, String> {
    if !path.exists() {
        create(path)?;
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn create(path: &Path) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("cannot create {}: {e}", path.display());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let staged = path.with_extension(format!("new-{}", uuid::Uuid::new_v4()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&staged)
        .map_err(fail)?;
    file.write_all(render(&generate()).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(fail)?;
    // A hard link never replaces an existing file: whoever links first wins.
    let linked = std::fs::hard_link(&staged, path);
    let _ = std::fs::remove_file(&staged);
    match linked {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(fail(e)),
        _ => Ok(()),
    }
}

/// Fresh random keys for every profile.
pub fn generate() -> LocalCredentials {
    LocalCredentials {
        keys: PROFILES
            .iter()
            .map(|(profile, policy)| LocalKey {
                profile: (*profile).to_owned(),
                policy: (*policy).to_owned(),
                key: AccessKey {
                    access_key_id: format!(
                        "AKIA{}",
                        random_text(16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
                    ),
                    secret_access_key: random_text(
                        40,
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                    ),
                },
            })
            .collect(),
    }
}

/// `length` characters of `alphabet` (32 or 64 long, so each byte maps uniformly).
fn random_text(length: usize, alphabet: &[u8]) -> String {
    std::iter::repeat_with(|| uuid::Uuid::new_v4().into_bytes())
        .flatten()
        .take(length)
        .map(|byte| char::from(alphabet[usize::from(byte) % alphabet.len()]))
        .collect()
}

/// The shared-credentials file text of `credentials`.
pub fn render(credentials: &LocalCredentials) -> String {
    let mut text = String::from(
        "# campaign-lifecycle: keys of the local API (make local), one profile per access level.\n\
         # AWS_SHARED_CREDENTIALS_FILE=.local/credentials AWS_PROFILE=campaign-admin <aws cli, SDK>\n",
    );
    for key in &credentials.keys {
        text.push_str(&format!(
            "\n[{}]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            key.profile, key.key.access_key_id, key.key.secret_access_key
        ));
    }
    text
}

/// Reads a shared-credentials file: every profile of [`PROFILES`] must have both keys.
pub fn parse(text: &str) -> Result<LocalCredentials, String> {
    let mut profile = None;
    let mut found: Vec<(String, String, String)> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            profile = Some(name.trim().to_owned());
            continue;
        }
        let (Some(profile), Some((name, value))) = (&profile, line.split_once('=')) else {
            return Err(format!("unreadable line {line:?}"));
        };
        found.push((
            profile.clone(),
            name.trim().to_owned(),
            value.trim().to_owned(),
        ));
    }
    let value = |profile: &str, name: &str| {
        found
            .iter()
            .find(|(p, n, _)| p == profile && n == name)
            .map(|(_, _, v)| v.clone())
            .ok_or_else(|| format!("profile {profile} has no {name}"))
    };
    let keys = PROFILES
        .iter()
        .map(|(profile, policy)| {
            Ok(LocalKey {
                profile: (*profile).to_owned(),
                policy: (*policy).to_owned(),
                key: AccessKey {
                    access_key_id: value(profile, "aws_access_key_id")?,
                    secret_access_key: value(profile, "aws_secret_access_key")?,
                },
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(LocalCredentials { keys })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn created_once_private_and_kept() {
        let dir = std::env::temp_dir().join(format!("credentials-{}", uuid::Uuid::new_v4()));
        let path = dir.join("credentials");
        let first = load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load_or_create(&path).unwrap(), first);
        let operator = first.key("campaign-operator").unwrap();
        let admin = first.key("campaign-admin").unwrap();
        assert_ne!(operator, admin);
        assert!(operator.access_key_id.starts_with("AKIA") && operator.access_key_id.len() == 20);
        assert_eq!(admin.secret_access_key.len(), 40);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no staged file left"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn reads_what_it_writes_and_refuses_incomplete_files() {
        let credentials = generate();
        assert_eq!(parse(&render(&credentials)).unwrap(), credentials);
        let without_admin = render(&credentials).replace("[campaign-admin]", "[other]");
        assert!(
            parse(&without_admin)
                .unwrap_err()
                .contains("campaign-admin")
        );
    }
}
