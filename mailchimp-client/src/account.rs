//! `GET /ping` and `GET /` (the account behind the credentials).

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

use crate::client::Client;
use crate::error::Result;
use crate::query::Query;

/// The answer of `GET /ping`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Health {
    /// Mailchimp's health message, e.g. `Everything's Chimpy!`.
    #[serde(default)]
    pub health_status: String,
}

/// The account the credentials belong to (`GET /`, the API root).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Account {
    /// The Mailchimp account id.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub account_id: String,
    /// The id of the user who owns the key (same across that user's accounts).
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub login_id: String,
    /// The account's name.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub account_name: String,
    /// The account email address.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub email: String,
    /// The owner's first name.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub first_name: String,
    /// The owner's last name.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub last_name: String,
    /// The owner's username.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub username: String,
    /// The user's role on the account, e.g. `owner`.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub role: String,
    /// When the account was created.
    #[serde(deserialize_with = "crate::serde_util::opt_datetime")]
    pub member_since: Option<DateTime<FixedOffset>>,
    /// The pricing plan type, e.g. `monthly`.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub pricing_plan_type: String,
    /// The account's time zone.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub account_timezone: String,
    /// Whether Mailchimp Pro is enabled.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub pro_enabled: bool,
    /// Subscribers across all audiences.
    #[serde(deserialize_with = "crate::serde_util::null_as_default")]
    pub total_subscribers: u64,
}

impl Client {
    /// `GET /ping`: checks that Mailchimp is reachable and the credentials work.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// let health = client.ping().await?;
    /// println!("{}", health.health_status);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Unauthorized`](crate::Error::Unauthorized) for rejected
    /// credentials; transport and other API errors as for every call.
    pub async fn ping(&self) -> Result<Health> {
        self.get(&["ping"], &Query::new()).await
    }

    /// `GET /`: the account behind the credentials.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// let account = client.account().await?;
    /// println!("connected to {} ({})", account.account_name, account.account_id);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`Client::ping`].
    pub async fn account(&self) -> Result<Account> {
        self.get(&[], &Query::new()).await
    }
}
