//! Who may connect: the configured users (`[[security.users]]`), those the resources file
//! declares (`crate::resources`), and whether anonymous peers may. Codecs run their protocol's
//! authentication exchange and ask here (`wit/auth.wit`).
//!
//! Passwords are configured in clear for now, as a development broker's users file is; a
//! comparison takes the same time whatever the password, so timing tells a peer nothing.
use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

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
        let user = self.users.iter().find(|u| u.name == username);
        check(username, user.map(|u| u.password.as_str()), password)
    }
}

/// Who may connect, while the broker runs: the configuration's users, changed by the resources
/// file as it is applied. Clones share the same users, so a change is seen by the next
/// authentication on every connection; a session already authenticated keeps its principal.
#[derive(Clone, Debug)]
pub struct Security {
    /// Let peers connect without credentials (SASL ANONYMOUS), as the principal `anonymous`.
    pub allow_anonymous: bool,
    users: Users,
}

impl Default for Security {
    fn default() -> Self {
        Security::from_config(&SecurityConfig::default())
    }
}

/// Passwords by user name, shared by every clone.
#[derive(Clone, Default)]
struct Users(Arc<RwLock<BTreeMap<String, String>>>);

impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let users = self.0.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_list().entries(users.keys()).finish()
    }
}

/// A user as the resources engine compares it: the password only as its SHA-256, so that
/// what is reported and recorded never holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserDigest {
    /// The user name.
    pub name: String,
    /// SHA-256 of the password.
    pub password_sha256: [u8; 32],
}

impl Security {
    /// The configuration's users and anonymous access.
    pub fn from_config(config: &SecurityConfig) -> Security {
        let users = config
            .users
            .iter()
            .map(|u| (u.name.clone(), u.password.clone()))
            .collect();
        Security {
            allow_anonymous: config.allow_anonymous,
            users: Users(Arc::new(RwLock::new(users))),
        }
    }

    /// The principal for `username` if `password` is its password. Logs why not otherwise.
    pub fn authenticate(&self, username: &str, password: &str) -> Option<Principal> {
        let users = self.users.0.read().unwrap_or_else(PoisonError::into_inner);
        check(username, users.get(username).map(String::as_str), password)
    }

    /// Every user, with its password's digest, by name.
    pub fn users(&self) -> Vec<UserDigest> {
        let users = self.users.0.read().unwrap_or_else(PoisonError::into_inner);
        users
            .iter()
            .map(|(name, password)| UserDigest {
                name: name.clone(),
                password_sha256: password_sha256(password),
            })
            .collect()
    }

    /// Adds `name`, or changes its password.
    pub fn set_user(&self, name: &str, password: &str) {
        let mut users = self.users.0.write().unwrap_or_else(PoisonError::into_inner);
        users.insert(name.to_owned(), password.to_owned());
    }

    /// Removes `name`; whether it was there.
    pub fn remove_user(&self, name: &str) -> bool {
        let mut users = self.users.0.write().unwrap_or_else(PoisonError::into_inner);
        users.remove(name).is_some()
    }
}

/// SHA-256 of a password: how the resources engine compares one without keeping it.
pub fn password_sha256(password: &str) -> [u8; 32] {
    Sha256::digest(password).into()
}

/// The principal for `username` whose password is `expected` (`None`: no such user) if
/// `given` is it. Logs why not otherwise.
fn check(username: &str, expected: Option<&str>, given: &str) -> Option<Principal> {
    let Some(expected) = expected else {
        tracing::info!(user = username, "authentication failed: unknown user");
        return None;
    };
    if !same_secret(expected, given) {
        tracing::info!(user = username, "authentication failed: wrong password");
        return None;
    }
    Some(Principal {
        name: username.to_owned(),
        mechanism: "plain".to_owned(),
    })
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
        assert!(!format!("{:?}", Security::from_config(&config())).contains("s3cret"));
    }

    #[test]
    fn a_user_set_on_one_clone_logs_in_through_every_clone_until_removed() {
        let security = Security::from_config(&config());
        let seen_by_a_session = security.clone();
        assert!(seen_by_a_session.authenticate("bob", "pw").is_none());
        security.set_user("bob", "pw");
        assert_eq!(
            seen_by_a_session.authenticate("bob", "pw").unwrap().name,
            "bob"
        );
        security.set_user("admin", "changed");
        assert!(seen_by_a_session.authenticate("admin", "s3cret").is_none());
        assert!(seen_by_a_session.authenticate("admin", "changed").is_some());
        assert!(security.remove_user("bob"));
        assert!(seen_by_a_session.authenticate("bob", "pw").is_none());
        let names: Vec<_> = security.users().into_iter().map(|u| u.name).collect();
        assert_eq!(names, ["admin"]);
    }
}
