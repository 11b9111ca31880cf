//! Who may connect: the configured users (`[[security.users]]`) and whether anonymous peers
//! may. Codecs run their protocol's authentication exchange and ask here (`wit/auth.wit`).
//!
//! Passwords are configured in clear for now, as a development broker's users file is; a
//! comparison takes the same time whatever the password, so timing tells a peer nothing.
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sluice_plugin_runtime::Principal;

/// The `[security]` table.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct SecurityConfig {
    /// Let peers connect without credentials (SASL ANONYMOUS), as the principal `anonymous`.
    pub allow_anonymous: bool,
    /// Users who may connect with a password (SASL PLAIN).
    pub users: Vec<UserConfig>,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            allow_anonymous: true,
            users: Vec::new(),
        }
    }
}

/// One `[[security.users]]` entry.
#[derive(Clone, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct UserConfig {
    /// The user name a client presents.
    pub name: String,
    /// Its password.
    pub password: String,
}

impl std::fmt::Debug for UserConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserConfig")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl SecurityConfig {
    /// The principal for `username` if `password` is its password. Logs why not otherwise.
    pub fn authenticate(&self, username: &str, password: &str) -> Option<Principal> {
        let Some(user) = self.users.iter().find(|u| u.name == username) else {
            tracing::info!(user = username, "authentication failed: unknown user");
            return None;
        };
        if !same_secret(&user.password, password) {
            tracing::info!(user = username, "authentication failed: wrong password");
            return None;
        }
        Some(Principal {
            name: user.name.clone(),
            mechanism: "plain".to_owned(),
        })
    }
}

/// Compares digests so the time taken does not depend on where the inputs differ.
fn same_secret(expected: &str, given: &str) -> bool {
    let (a, b) = (Sha256::digest(expected), Sha256::digest(given));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config() -> SecurityConfig {
        toml::from_str(
            "allow-anonymous = false\n[[users]]\nname = \"admin\"\npassword = \"s3cret\"\n",
        )
        .unwrap()
    }

    #[test]
    fn a_configured_user_with_its_password_is_a_principal() {
        let p = config().authenticate("admin", "s3cret").unwrap();
        assert_eq!((p.name.as_str(), p.mechanism.as_str()), ("admin", "plain"));
    }

    #[test]
    fn a_wrong_password_or_an_unknown_user_is_refused() {
        assert!(config().authenticate("admin", "s3cret!").is_none());
        assert!(config().authenticate("root", "s3cret").is_none());
    }

    #[test]
    fn passwords_are_kept_out_of_debug_output() {
        assert!(!format!("{:?}", config()).contains("s3cret"));
    }
}
