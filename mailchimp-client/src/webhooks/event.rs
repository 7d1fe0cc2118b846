//! Typed audience webhook events decoded from a delivery body.

use chrono::NaiveDateTime;

use super::dedup::DedupKey;
use super::error::{excerpt, WebhookError};
use super::form::{parse_form, FormMap, FormValue, ParseLimits};
use crate::ids::ListId;

/// The format of `fired_at`: `2009-03-26 21:35:57`.
const FIRED_AT_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// One decoded audience webhook delivery.
///
/// Build it with [`parse_delivery`]; verify the signature first with a
/// [`WebhookVerifier`](super::WebhookVerifier), or use
/// [`WebhookVerifier::verify_and_parse`](super::WebhookVerifier::verify_and_parse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    event_type: String,
    fired_at: NaiveDateTime,
    event: WebhookEvent,
    fields: FormMap,
}

impl WebhookDelivery {
    /// The `type` field as sent (`subscribe`, `upemail`, …).
    pub fn event_type(&self) -> &str {
        &self.event_type
    }

    /// When Mailchimp fired the event. Mailchimp sends it without a time zone
    /// (`YYYY-MM-DD HH:MM:SS`); it is kept as sent.
    pub fn fired_at(&self) -> NaiveDateTime {
        self.fired_at
    }

    /// The typed event.
    pub fn event(&self) -> &WebhookEvent {
        &self.event
    }

    /// Consumes the delivery, returning the typed event.
    pub fn into_event(self) -> WebhookEvent {
        self.event
    }

    /// Every decoded field, for auditing or for keys this crate does not type.
    pub fn fields(&self) -> &FormMap {
        &self.fields
    }

    /// The key that identifies this delivery across Mailchimp's at-least-once
    /// retries; see [`DedupKey`].
    pub fn dedup_key(&self) -> DedupKey {
        let data = self.fields.get("data").and_then(FormValue::as_map);
        let get = |key: &str| data.and_then(|d| d.get(key)).and_then(FormValue::as_text);
        // `upemail` and `cleaned` carry no `data[id]`; their closest member
        // identity keeps two events fired in the same second apart.
        let fallback = match &self.event {
            WebhookEvent::EmailChanged(event) => Some(event.new_id.as_str()),
            WebhookEvent::Cleaned(event) => Some(event.email.as_str()),
            _ => None,
        };
        let id = get("id").or(fallback).unwrap_or("");
        DedupKey::new(&self.event_type, id, self.fired_at)
    }
}

/// An audience webhook event.
///
/// The variants follow the `type` field; a type this crate does not know is
/// kept as [`WebhookEvent::Unknown`] with its raw fields, so a new Mailchimp
/// event never fails a receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookEvent {
    /// `subscribe`: a member joined the audience.
    Subscribe(MemberEvent),
    /// `unsubscribe`: a member left the audience or was deleted.
    Unsubscribe(UnsubscribeEvent),
    /// `profile`: a member's profile changed.
    Profile(MemberEvent),
    /// `upemail`: a member changed their email address.
    EmailChanged(EmailChangedEvent),
    /// `cleaned`: an address was cleaned after bounces or an abuse report.
    Cleaned(CleanedEvent),
    /// `campaign`: a campaign was sent or cancelled.
    Campaign(CampaignEvent),
    /// Any other `type`, with its `data[...]` fields as sent.
    Unknown {
        /// The `type` field.
        event_type: String,
        /// The `data[...]` fields.
        data: FormMap,
    },
}

/// The member fields of `subscribe`, `profile` and `unsubscribe` events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemberEvent {
    /// `data[id]`: the member's id.
    pub id: String,
    /// `data[list_id]`: the audience.
    pub list_id: ListId,
    /// `data[email]`.
    pub email: String,
    /// `data[email_type]` (`html` or `text`).
    pub email_type: Option<String>,
    /// `data[ip_opt]`.
    pub ip_opt: Option<String>,
    /// `data[ip_signup]`.
    pub ip_signup: Option<String>,
    /// `data[web_id]`.
    pub web_id: Option<String>,
    /// `data[merges][...]`: merge fields by tag. Address merges are nested
    /// (`ADDRESS` → `city`, `zip`, …); `INTERESTS` is one comma-joined value.
    pub merges: FormMap,
}

impl MemberEvent {
    /// A plain merge field by tag, such as `FNAME`.
    pub fn merge(&self, tag: &str) -> Option<&str> {
        self.merges.get(tag).and_then(FormValue::as_text)
    }
}

/// An `unsubscribe` event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnsubscribeEvent {
    /// The member who left.
    pub member: MemberEvent,
    /// `data[action]`: unsubscribed or deleted.
    pub action: UnsubscribeAction,
    /// `data[reason]` (`manual`, `abuse`, …).
    pub reason: Option<String>,
    /// `data[campaign_id]`: the campaign the member unsubscribed from.
    pub campaign_id: Option<String>,
}

/// What an `unsubscribe` event did (`data[action]`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnsubscribeAction {
    /// `unsub`: the member unsubscribed.
    Unsubscribe,
    /// `delete`: the member was deleted.
    Delete,
    /// A value this crate does not know, kept as sent.
    Other(String),
}

impl UnsubscribeAction {
    fn from_wire(value: &str) -> Self {
        match value {
            "unsub" => Self::Unsubscribe,
            "delete" => Self::Delete,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// An `upemail` event: a member's address changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EmailChangedEvent {
    /// `data[list_id]`.
    pub list_id: ListId,
    /// `data[new_id]`: the member's id under the new address.
    pub new_id: String,
    /// `data[new_email]`.
    pub new_email: String,
    /// `data[old_email]`.
    pub old_email: String,
}

/// A `cleaned` event: the address will not be mailed again.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CleanedEvent {
    /// `data[list_id]`.
    pub list_id: ListId,
    /// `data[email]`.
    pub email: String,
    /// `data[reason]`.
    pub reason: CleanedReason,
    /// `data[campaign_id]`: the campaign that bounced, if any.
    pub campaign_id: Option<String>,
}

/// Why an address was cleaned (`data[reason]`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CleanedReason {
    /// `hard`: a hard bounce.
    HardBounce,
    /// `abuse`: an abuse report.
    Abuse,
    /// A value this crate does not know, kept as sent.
    Other(String),
}

impl CleanedReason {
    fn from_wire(value: &str) -> Self {
        match value {
            "hard" => Self::HardBounce,
            "abuse" => Self::Abuse,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// A `campaign` event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CampaignEvent {
    /// `data[id]`: the campaign.
    pub id: String,
    /// `data[list_id]`.
    pub list_id: ListId,
    /// `data[subject]`.
    pub subject: Option<String>,
    /// `data[status]` (`sent`, …).
    pub status: Option<String>,
    /// `data[reason]`; empty when sent normally.
    pub reason: Option<String>,
}

/// Decodes a delivery body with the default [`ParseLimits`].
///
/// # Errors
///
/// A [`WebhookError`] naming what is wrong: the body's size, encoding or key
/// syntax, a missing `type`/`fired_at` or required `data[...]` field, or an
/// unparseable `fired_at`. Unknown event types are not an error.
///
/// # Examples
///
/// ```
/// use mailchimp_client::webhooks::{parse_delivery, WebhookEvent};
///
/// let body = b"type=upemail&fired_at=2009-03-26+22%3A15%3A09\
///     &data%5Blist_id%5D=a6b5da1054&data%5Bnew_id%5D=51da8c3259\
///     &data%5Bnew_email%5D=api%2Bnew%40mailchimp.com\
///     &data%5Bold_email%5D=api%2Bold%40mailchimp.com";
/// let delivery = parse_delivery(body)?;
/// let WebhookEvent::EmailChanged(change) = delivery.event() else {
///     panic!("expected upemail");
/// };
/// assert_eq!(change.new_email, "api+new@mailchimp.com");
/// assert_eq!(delivery.fired_at().to_string(), "2009-03-26 22:15:09");
/// # Ok::<(), mailchimp_client::webhooks::WebhookError>(())
/// ```
pub fn parse_delivery(body: &[u8]) -> Result<WebhookDelivery, WebhookError> {
    parse_delivery_with_limits(body, &ParseLimits::default())
}

/// Decodes a delivery body with the given limits.
///
/// # Errors
///
/// As [`parse_delivery`].
pub fn parse_delivery_with_limits(
    body: &[u8],
    limits: &ParseLimits,
) -> Result<WebhookDelivery, WebhookError> {
    let fields = parse_form(body, limits)?;
    let root = Fields {
        map: &fields,
        prefix: "",
    };
    let event_type = root.required("type")?.to_owned();
    let fired_at_text = root.required("fired_at")?;
    let fired_at = NaiveDateTime::parse_from_str(fired_at_text, FIRED_AT_FORMAT).map_err(|_| {
        WebhookError::InvalidFiredAt {
            value: excerpt(fired_at_text),
        }
    })?;
    let empty = FormMap::new();
    let data = Fields {
        map: root.map_field("data")?.unwrap_or(&empty),
        prefix: "data",
    };
    let event = match event_type.as_str() {
        "subscribe" => WebhookEvent::Subscribe(member_event(&data)?),
        "profile" => WebhookEvent::Profile(member_event(&data)?),
        "unsubscribe" => WebhookEvent::Unsubscribe(UnsubscribeEvent {
            member: member_event(&data)?,
            action: UnsubscribeAction::from_wire(data.required("action")?),
            reason: data.optional("reason")?,
            campaign_id: data.optional("campaign_id")?,
        }),
        "upemail" => WebhookEvent::EmailChanged(EmailChangedEvent {
            list_id: ListId::from(data.required("list_id")?),
            new_id: data.required("new_id")?.to_owned(),
            new_email: data.required("new_email")?.to_owned(),
            old_email: data.required("old_email")?.to_owned(),
        }),
        "cleaned" => WebhookEvent::Cleaned(CleanedEvent {
            list_id: ListId::from(data.required("list_id")?),
            email: data.required("email")?.to_owned(),
            reason: CleanedReason::from_wire(data.required("reason")?),
            campaign_id: data.optional("campaign_id")?,
        }),
        "campaign" => WebhookEvent::Campaign(CampaignEvent {
            id: data.required("id")?.to_owned(),
            list_id: ListId::from(data.required("list_id")?),
            subject: data.optional("subject")?,
            status: data.optional("status")?,
            reason: data.optional("reason")?,
        }),
        _ => WebhookEvent::Unknown {
            event_type: event_type.clone(),
            data: data.map.clone(),
        },
    };
    Ok(WebhookDelivery {
        event_type,
        fired_at,
        event,
        fields,
    })
}

fn member_event(data: &Fields<'_>) -> Result<MemberEvent, WebhookError> {
    Ok(MemberEvent {
        id: data.required("id")?.to_owned(),
        list_id: ListId::from(data.required("list_id")?),
        email: data.required("email")?.to_owned(),
        email_type: data.optional("email_type")?,
        ip_opt: data.optional("ip_opt")?,
        ip_signup: data.optional("ip_signup")?,
        web_id: data.optional("web_id")?,
        merges: data.map_field("merges")?.cloned().unwrap_or_default(),
    })
}

/// Typed access to one level of the form, naming fields as Mailchimp does
/// (`data[email]`) in errors.
struct Fields<'a> {
    map: &'a FormMap,
    prefix: &'static str,
}

impl<'a> Fields<'a> {
    fn name(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}[{key}]", self.prefix)
        }
    }

    fn text(&self, key: &str) -> Result<Option<&'a str>, WebhookError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(FormValue::Text(text)) => Ok(Some(text)),
            Some(FormValue::Map(_)) => Err(WebhookError::WrongShape {
                field: self.name(key),
            }),
        }
    }

    fn required(&self, key: &str) -> Result<&'a str, WebhookError> {
        self.text(key)?.ok_or_else(|| WebhookError::MissingField {
            field: self.name(key),
        })
    }

    fn optional(&self, key: &str) -> Result<Option<String>, WebhookError> {
        Ok(self.text(key)?.map(str::to_owned))
    }

    fn map_field(&self, key: &str) -> Result<Option<&'a FormMap>, WebhookError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(FormValue::Map(map)) => Ok(Some(map)),
            Some(FormValue::Text(_)) => Err(WebhookError::WrongShape {
                field: self.name(key),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_type_and_fired_at_are_named() {
        assert_eq!(
            parse_delivery(b"fired_at=2009-03-26+21%3A35%3A57"),
            Err(WebhookError::MissingField {
                field: "type".into()
            })
        );
        assert_eq!(
            parse_delivery(b"type=subscribe"),
            Err(WebhookError::MissingField {
                field: "fired_at".into()
            })
        );
    }

    #[test]
    fn missing_data_field_is_named_with_brackets() {
        let err = parse_delivery(
            b"type=cleaned&fired_at=2009-03-26+22%3A01%3A00&data[list_id]=a&data[reason]=hard",
        )
        .unwrap_err();
        assert_eq!(
            err,
            WebhookError::MissingField {
                field: "data[email]".into()
            }
        );
    }

    #[test]
    fn bad_fired_at_and_wrong_shapes_are_errors() {
        assert!(matches!(
            parse_delivery(b"type=campaign&fired_at=2009-03-26T21:35:57Z"),
            Err(WebhookError::InvalidFiredAt { .. })
        ));
        assert_eq!(
            parse_delivery(b"type=x&fired_at=2009-03-26+21%3A35%3A57&data=flat"),
            Err(WebhookError::WrongShape {
                field: "data".into()
            })
        );
        assert_eq!(
            parse_delivery(b"type[a]=x&fired_at=2009-03-26+21%3A35%3A57"),
            Err(WebhookError::WrongShape {
                field: "type".into()
            })
        );
    }

    #[test]
    fn unknown_type_keeps_raw_data() {
        let delivery = parse_delivery(
            b"type=batch_operation_completed&fired_at=2024-01-02+03%3A04%3A05&data[id]=b1&data[status]=finished",
        )
        .unwrap();
        let WebhookEvent::Unknown { event_type, data } = delivery.event() else {
            panic!("expected unknown");
        };
        assert_eq!(event_type, "batch_operation_completed");
        assert_eq!(
            data.get("status").and_then(FormValue::as_text),
            Some("finished")
        );
    }

    #[test]
    fn open_enums_keep_unknown_values() {
        assert_eq!(
            UnsubscribeAction::from_wire("archive"),
            UnsubscribeAction::Other("archive".into())
        );
        assert_eq!(CleanedReason::from_wire("hard"), CleanedReason::HardBounce);
        assert_eq!(
            CleanedReason::from_wire("soft"),
            CleanedReason::Other("soft".into())
        );
    }
}
