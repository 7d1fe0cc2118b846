//! Secrets for `init` and `credentials set`: from an environment variable, standard input
//! (`--stdin`), or typed at a prompt without echo. Never from the command line, where they
//! would land in shell history and process listings.

use std::io::IsTerminal;

use secrecy::SecretString;

/// The environment variable holding the Mailchimp API key.
pub const MAILCHIMP_API_KEY_VAR: &str = "ML_CONNECTOR_MAILCHIMP_API_KEY";
/// The environment variable holding a Mailchimp OAuth access token.
pub const MAILCHIMP_OAUTH_TOKEN_VAR: &str = "ML_CONNECTOR_MAILCHIMP_OAUTH_TOKEN";
/// The environment variable holding the QAD password.
pub const QAD_PASSWORD_VAR: &str = "ML_CONNECTOR_QAD_PASSWORD";

/// A secret could not be obtained.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Not in the environment, and no terminal to ask on.
    #[error("{what} is needed: set {var}, pipe it in with --stdin where offered, or run in a terminal to be asked for it")]
    Missing {
        /// What the secret is.
        what: &'static str,
        /// The environment variable that could hold it.
        var: &'static str,
    },
    /// `--stdin` was given but standard input held no secret.
    #[error("could not read {what} from standard input")]
    Stdin {
        /// What the secret is.
        what: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The prompt failed or got an empty answer.
    #[error("could not read {what} from the terminal")]
    Prompt {
        /// What the secret is.
        what: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Reads the secret from standard input (all of it, surrounding whitespace trimmed).
///
/// # Errors
///
/// [`SecretError::Stdin`] when stdin cannot be read or holds nothing.
pub fn from_stdin(what: &'static str) -> Result<SecretString, SecretError> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
        .map_err(|source| SecretError::Stdin { what, source })?;
    let text = text.trim();
    if text.is_empty() {
        return Err(SecretError::Stdin {
            what,
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "it was empty"),
        });
    }
    Ok(SecretString::from(text.to_owned()))
}

/// Reads `var`, or asks for `what` on the terminal (input not echoed).
///
/// # Errors
///
/// [`SecretError`] when the variable is unset or empty and there is no terminal, or the prompt
/// fails or is answered with nothing.
pub fn obtain(what: &'static str, var: &'static str) -> Result<SecretString, SecretError> {
    if let Ok(value) = std::env::var(var) {
        if !value.trim().is_empty() {
            return Ok(SecretString::from(value.trim().to_owned()));
        }
    }
    if !std::io::stdin().is_terminal() {
        return Err(SecretError::Missing { what, var });
    }
    let answer = rpassword::prompt_password(format!("{what} (not echoed): "))
        .map_err(|source| SecretError::Prompt { what, source })?;
    if answer.trim().is_empty() {
        return Err(SecretError::Prompt {
            what,
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty answer"),
        });
    }
    Ok(SecretString::from(answer.trim().to_owned()))
}
