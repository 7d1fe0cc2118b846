//! The writes the forward sync makes, as data, and the one place that sends them.
//!
//! Every write is first an [`Operation`]: serializable, recorded in the audit row of its record
//! (as the row's payload, with [`Operation::target`] as the row's operation), so a failed one can
//! be sent again later by [`Executor::execute`] exactly as it was planned. Member batches go through
//! [`Executor::subscribe_batch`], which reports back per member.

use std::borrow::Borrow;
use std::collections::{BTreeSet, HashMap};

use futures::stream::{self, StreamExt};
use mailchimp_client::ecommerce::{CustomerId, ProductId, StoreId};
use mailchimp_client::{BatchErrorCode, BatchMember, ListId, SubscriberHash};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::audit::{Method, TargetOperation};
use crate::mapping::{customer_id_for_address, EcomCustomerRecord, MemberRecord, ProductRecord};
use crate::model::{MemberStatus, Outcome, TargetSystem};
use crate::report::CallLog;

/// One write to a target system.
///
/// ```
/// use std::collections::BTreeMap;
/// use sync_core::mapping::{MemberRecord, StatusIfNew};
/// use sync_core::operation::Operation;
///
/// let op = Operation::UpsertMember {
///     list_id: "l1".into(),
///     member: MemberRecord {
///         email_address: "Ada@Northwind-mfg.com".into(),
///         status_if_new: StatusIfNew::Pending,
///         merge_fields: BTreeMap::new(),
///     },
/// };
/// let hash = mailchimp_client::SubscriberHash::from_email("ada@northwind-mfg.com");
/// assert_eq!(op.target().to_string(), format!("mailchimp PUT /lists/l1/members/{}", hash.as_str()));
/// let payload = op.to_payload().unwrap();
/// assert_eq!(payload["op"], "upsert_member");
/// assert_eq!(Operation::from_payload(payload).unwrap(), op);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Operation {
    /// `PUT /lists/{list_id}/members/{hash}` with `status_if_new`: creates the member or updates
    /// its merge fields, never changing an existing member's status.
    UpsertMember {
        /// The audience.
        list_id: String,
        /// The member body.
        member: MemberRecord,
    },
    /// One member of a batch subscribe (`POST /lists/{list_id}`). A member whose current status
    /// was just read goes with `update_existing: true` and that status; any other with
    /// `update_existing: false` and `status = status_if_new`, and if it turns out to be on the
    /// list already it is looked up and, unless its status forbids it, updated by
    /// [`UpsertMember`](Self::UpsertMember) instead. So a batch never changes an existing
    /// member's status.
    SubscribeMember {
        /// The audience.
        list_id: String,
        /// The member body.
        member: MemberRecord,
    },
    /// `PATCH /lists/{list_id}/members/{hash of old_email_address}` with the member's new
    /// `email_address` and merge fields: moves the member to its new address in place, so its
    /// status, history and tags stay. The status is never sent, so it is never changed.
    ///
    /// When the old address is no longer on the list (the change was already made, by an earlier
    /// attempt or in Mailchimp), the member is written at its new address as an
    /// [`UpsertMember`](Self::UpsertMember) instead. A new address that already belongs to another
    /// member is not merged: the write is skipped.
    ChangeMemberEmail {
        /// The audience.
        list_id: String,
        /// The address the member has now, as last written.
        old_email_address: String,
        /// The member body, with the new address.
        member: MemberRecord,
    },
    /// `PATCH /lists/{list_id}/members/{hash}` with only `status`: puts back the status the
    /// connector meant for a member it created, which Mailchimp made *transactional* behind its
    /// back (an e-commerce customer written before its member). Only ever sent for a member the
    /// state store records as created by the connector with that intended status, never over a
    /// person's choice.
    RestoreMemberStatus {
        /// The audience.
        list_id: String,
        /// The member's address.
        email_address: String,
        /// The status the connector meant.
        status: MemberStatus,
    },
    /// `POST /lists/{list_id}/members/{hash}/tags`.
    SetMemberTags {
        /// The audience.
        list_id: String,
        /// The member's address.
        email_address: String,
        /// Tags to add.
        active: BTreeSet<String>,
        /// Tags to remove.
        inactive: BTreeSet<String>,
    },
    /// `PUT /ecommerce/stores/{store_id}/customers/{id}`.
    UpsertEcomCustomer {
        /// The store.
        store_id: String,
        /// The customer.
        customer: EcomCustomerRecord,
    },
    /// `PUT /ecommerce/stores/{store_id}/products/{id}` with its default variant.
    UpsertProduct {
        /// The store.
        store_id: String,
        /// The product.
        product: ProductRecord,
    },
    /// `DELETE /lists/{list_id}/members/{hash}`: archives the member of a QAD customer that is
    /// gone, inactive, blocked or anonymised (the lifecycle's default). Reversible: a later write
    /// of the address brings the member back. A member already gone or archived counts as done.
    ArchiveMember {
        /// The audience.
        list_id: String,
        /// The member's address.
        email_address: String,
    },
    /// `POST /lists/{list_id}/members/{hash}/actions/delete-permanent`: erases the member and
    /// its history (GDPR erasure). **Irreversible**: Mailchimp then refuses the address through
    /// the API ("Forgotten Email Not Subscribed"). Only planned when configured, and never for
    /// an address another QAD customer still owns. A member already gone counts as done.
    DeleteMemberPermanently {
        /// The audience.
        list_id: String,
        /// The member's address.
        email_address: String,
    },
    /// `DELETE /ecommerce/stores/{store_id}/customers/{customer_id}`: removes the store customer
    /// of a QAD customer that is gone (its orders stay). A customer already gone counts as done.
    DeleteEcomCustomer {
        /// The store.
        store_id: String,
        /// The e-commerce customer id.
        customer_id: String,
    },
    /// `DELETE /ecommerce/stores/{store_id}/products/{product_id}`: removes the product of an
    /// item that is gone or inactive. A product already gone counts as done.
    DeleteProduct {
        /// The store.
        store_id: String,
        /// The product id.
        product_id: String,
    },
    /// `GET` then `PUT /ecommerce/stores/{store_id}/products/{product_id}`: the product as
    /// Mailchimp holds it, with every variant `visibility: hidden` and inventory 0, for an item
    /// that is gone from QAD (whose fields can no longer be mapped). A product already gone
    /// counts as done.
    HideProduct {
        /// The store.
        store_id: String,
        /// The product id.
        product_id: String,
    },
}

impl Operation {
    /// The system, method and path, for the audit row.
    #[must_use]
    pub fn target(&self) -> TargetOperation {
        let hash = |email: &str| SubscriberHash::from_email(email).as_str().to_owned();
        let (method, path) = match self {
            Self::UpsertMember { list_id, member } => (
                Method::Put,
                format!("/lists/{list_id}/members/{}", hash(&member.email_address)),
            ),
            Self::SubscribeMember { list_id, .. } => (Method::Post, format!("/lists/{list_id}")),
            Self::ChangeMemberEmail {
                list_id,
                old_email_address,
                ..
            } => (
                Method::Patch,
                format!("/lists/{list_id}/members/{}", hash(old_email_address)),
            ),
            Self::RestoreMemberStatus {
                list_id,
                email_address,
                ..
            } => (
                Method::Patch,
                format!("/lists/{list_id}/members/{}", hash(email_address)),
            ),
            Self::SetMemberTags {
                list_id,
                email_address,
                ..
            } => (
                Method::Post,
                format!("/lists/{list_id}/members/{}/tags", hash(email_address)),
            ),
            Self::UpsertEcomCustomer { store_id, customer } => (
                Method::Put,
                format!("/ecommerce/stores/{store_id}/customers/{}", customer.id),
            ),
            Self::UpsertProduct { store_id, product } => (
                Method::Put,
                format!("/ecommerce/stores/{store_id}/products/{}", product.id),
            ),
            Self::ArchiveMember {
                list_id,
                email_address,
            } => (
                Method::Delete,
                format!("/lists/{list_id}/members/{}", hash(email_address)),
            ),
            Self::DeleteMemberPermanently {
                list_id,
                email_address,
            } => (
                Method::Post,
                format!(
                    "/lists/{list_id}/members/{}/actions/delete-permanent",
                    hash(email_address)
                ),
            ),
            Self::DeleteEcomCustomer {
                store_id,
                customer_id,
            } => (
                Method::Delete,
                format!("/ecommerce/stores/{store_id}/customers/{customer_id}"),
            ),
            Self::DeleteProduct {
                store_id,
                product_id,
            } => (
                Method::Delete,
                format!("/ecommerce/stores/{store_id}/products/{product_id}"),
            ),
            Self::HideProduct {
                store_id,
                product_id,
            } => (
                Method::Put,
                format!("/ecommerce/stores/{store_id}/products/{product_id}"),
            ),
        };
        TargetOperation::new(TargetSystem::Mailchimp, method, path)
    }

    /// Whether the operation removes or hides a target record (the lifecycle's operations):
    /// sending it again as recorded is always safe, since it carries no content that could be
    /// older than what the target holds.
    #[must_use]
    pub fn is_removal(&self) -> bool {
        matches!(
            self,
            Self::ArchiveMember { .. }
                | Self::DeleteMemberPermanently { .. }
                | Self::DeleteEcomCustomer { .. }
                | Self::DeleteProduct { .. }
                | Self::HideProduct { .. }
        )
    }

    /// The operation as the audit row's payload.
    ///
    /// # Errors
    ///
    /// [`StateError::Encode`](crate::StateError::Encode) if it cannot be encoded (it always can:
    /// every field is a string, number or string-keyed map).
    pub fn to_payload(&self) -> Result<Value, crate::StateError> {
        serde_json::to_value(self).map_err(|source| crate::StateError::Encode {
            what: "operation",
            source,
        })
    }

    /// An operation read back from an audit row's payload.
    ///
    /// # Errors
    ///
    /// [`StateError::Corrupt`](crate::StateError::Corrupt) when the payload is not an operation.
    pub fn from_payload(payload: Value) -> Result<Self, crate::StateError> {
        serde_json::from_value(payload).map_err(|e| crate::StateError::Corrupt {
            column: "audit.payload",
            value: e.to_string(),
        })
    }
}

/// A write that reached its target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// `Some(true)` when the target said it created the record, `Some(false)` when it said it
    /// updated it, `None` when the call does not tell (a `PUT` upsert).
    pub created: Option<bool>,
    /// The member's status as Mailchimp reported it, for member writes.
    pub member_status: Option<MemberStatus>,
    /// The id the record was written under when it is not the planned one: a store customer
    /// whose address changed is written as a new customer (see
    /// [`customer_id_for_address`]).
    pub written_id: Option<String>,
}

/// A write that did not reach its target, classified for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotApplied {
    /// Deliberately not written (a cleaned, unsubscribed, compliance-state or forgotten member);
    /// `status` is remembered so later runs skip it without asking.
    Skipped {
        /// Why.
        reason: String,
        /// The member status learned, if any.
        status: Option<MemberStatus>,
    },
    /// The target refused the content; sending it again cannot help.
    Rejected(String),
    /// The call failed after its retries; the row can be replayed.
    Failed(String),
    /// Mailchimp refused the write for now (signup throttling): it is queued and sent again on a
    /// later run with the retry queue's backoff, and is neither rejected nor a failure.
    Deferred(String),
}

impl NotApplied {
    /// The audit outcome.
    #[must_use]
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::Skipped { .. } => Outcome::Skipped,
            Self::Rejected(_) => Outcome::Rejected,
            Self::Failed(_) => Outcome::Failed,
            Self::Deferred(_) => Outcome::Deferred,
        }
    }

    /// The reason or error text.
    #[must_use]
    pub fn reason(&self) -> &str {
        match self {
            Self::Skipped { reason, .. } => reason,
            Self::Rejected(r) | Self::Failed(r) | Self::Deferred(r) => r,
        }
    }
}

/// The result of one operation.
pub type OpResult = Result<Applied, NotApplied>;

/// Sends [`Operation`]s through the Mailchimp client and classifies the results. Cheap to clone.
///
/// ```no_run
/// # async fn run(client: mailchimp_client::Client, op: sync_core::operation::Operation) {
/// use sync_core::operation::Executor;
/// use sync_core::report::CallLog;
///
/// let calls = CallLog::new();
/// let executor = Executor::new(client, calls.clone());
/// match executor.execute(&op).await {
///     Ok(applied) => println!("written: {applied:?}"),
///     Err(not) => println!("{:?}: {}", not.outcome(), not.reason()),
/// }
/// println!("{:?}", calls.snapshot());
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Executor {
    mailchimp: mailchimp_client::Client,
    calls: CallLog,
}

impl Executor {
    /// An executor sending through `mailchimp`, counting calls in `calls`.
    #[must_use]
    pub fn new(mailchimp: mailchimp_client::Client, calls: CallLog) -> Self {
        Self { mailchimp, calls }
    }

    /// The Mailchimp client.
    #[must_use]
    pub fn mailchimp(&self) -> &mailchimp_client::Client {
        &self.mailchimp
    }

    /// The call counter.
    #[must_use]
    pub fn calls(&self) -> &CallLog {
        &self.calls
    }

    /// Sends one operation.
    ///
    /// # Errors
    ///
    /// Every failure is classified into a [`NotApplied`]: skipped (a member whose status forbids
    /// the write, remembered), rejected (Mailchimp refused the content) or failed (the call
    /// failed after the client's retries; replayable).
    pub async fn execute(&self, op: &Operation) -> OpResult {
        match op {
            Operation::UpsertMember { list_id, member } => {
                self.upsert_member(list_id, member).await
            }
            Operation::SubscribeMember { list_id, member } => self
                .subscribe_batch(list_id, std::slice::from_ref(member))
                .await
                .pop()
                .unwrap_or_else(|| Err(NotApplied::Failed("empty batch result".into()))),
            Operation::ChangeMemberEmail {
                list_id,
                old_email_address,
                member,
            } => self.change_email(list_id, old_email_address, member).await,
            Operation::RestoreMemberStatus {
                list_id,
                email_address,
                status,
            } => {
                self.calls.count("mailchimp member_patch");
                // The client's parse keeps any name (unknown ones as they are): it cannot fail.
                let Ok(status) = status.as_str().parse::<mailchimp_client::MemberStatus>();
                self.mailchimp
                    .list(&ListId::from(list_id.as_str()))
                    .members()
                    .update(&SubscriberHash::from_email(email_address))
                    .status(status)
                    .send()
                    .await
                    .map(|written| Applied {
                        created: None,
                        member_status: written.status.as_ref().and_then(status_from_client),
                        written_id: None,
                    })
                    .map_err(classify)
            }
            Operation::SetMemberTags {
                list_id,
                email_address,
                active,
                inactive,
            } => {
                self.calls.count("mailchimp member_tags");
                let mut request = self
                    .mailchimp
                    .list(&ListId::from(list_id.as_str()))
                    .members()
                    .tags(&SubscriberHash::from_email(email_address));
                for tag in active {
                    request = request.activate(tag.clone());
                }
                for tag in inactive {
                    request = request.deactivate(tag.clone());
                }
                request
                    .send()
                    .await
                    .map(|()| Applied::default())
                    .map_err(classify)
            }
            Operation::UpsertEcomCustomer { store_id, customer } => {
                self.upsert_ecommerce_customer(store_id, customer).await
            }
            Operation::UpsertProduct { store_id, product } => {
                self.calls.count("mailchimp product_put");
                self.mailchimp
                    .ecommerce()
                    .store(&StoreId::from(store_id.as_str()))
                    .products()
                    .upsert_as::<IgnoredAny>(&product.to_client())
                    .await
                    .map(|_| Applied::default())
                    .map_err(classify)
            }
            Operation::ArchiveMember {
                list_id,
                email_address,
            } => {
                self.calls.count("mailchimp member_archive");
                let members = self
                    .mailchimp
                    .list(&ListId::from(list_id.as_str()))
                    .members();
                gone_is_done(
                    members
                        .archive(&SubscriberHash::from_email(email_address))
                        .await,
                )
            }
            Operation::DeleteMemberPermanently {
                list_id,
                email_address,
            } => {
                self.calls.count("mailchimp member_delete_permanent");
                let members = self
                    .mailchimp
                    .list(&ListId::from(list_id.as_str()))
                    .members();
                gone_is_done(
                    members
                        .delete_permanent(&SubscriberHash::from_email(email_address))
                        .await,
                )
                .map(|applied| Applied {
                    member_status: Some(MemberStatus::Forgotten),
                    ..applied
                })
            }
            Operation::DeleteEcomCustomer {
                store_id,
                customer_id,
            } => {
                self.calls.count("mailchimp ecommerce_customer_delete");
                let customers = self
                    .mailchimp
                    .ecommerce()
                    .store(&StoreId::from(store_id.as_str()))
                    .customers();
                gone_is_done(
                    customers
                        .delete(&CustomerId::from(customer_id.as_str()))
                        .await,
                )
            }
            Operation::DeleteProduct {
                store_id,
                product_id,
            } => {
                self.calls.count("mailchimp product_delete");
                let products = self
                    .mailchimp
                    .ecommerce()
                    .store(&StoreId::from(store_id.as_str()))
                    .products();
                gone_is_done(products.delete(&ProductId::from(product_id.as_str())).await)
            }
            Operation::HideProduct {
                store_id,
                product_id,
            } => self.hide_product(store_id, product_id).await,
        }
    }

    /// Hides a product as Mailchimp holds it: every variant hidden with no stock, its other
    /// fields as read (the item is gone from QAD, so there is nothing to map them from).
    async fn hide_product(&self, store_id: &str, product_id: &str) -> OpResult {
        let products = self
            .mailchimp
            .ecommerce()
            .store(&StoreId::from(store_id))
            .products();
        self.calls.count("mailchimp product_get");
        let product = match products.get(&ProductId::from(product_id)).send().await {
            Ok(product) => product,
            Err(err) if err.is_not_found() => return Ok(Applied::default()),
            Err(err) => return Err(classify(err)),
        };
        let mut input = crate::reconcile::project::product_input(&product);
        for variant in &mut input.variants {
            variant.visibility = Some("hidden".into());
            variant.inventory_quantity = Some(0);
        }
        self.calls.count("mailchimp product_put");
        products
            .upsert_as::<IgnoredAny>(&input)
            .await
            .map(|_| Applied::default())
            .map_err(classify)
    }

    /// Writes a store customer. Mailchimp fixes a customer's address once it exists; when the
    /// customer under the planned id holds another address, the customer is written again under
    /// the id of its new address ([`customer_id_for_address`]), which [`Applied::written_id`]
    /// reports so the caller maps the QAD customer to it.
    async fn upsert_ecommerce_customer(
        &self,
        store_id: &str,
        customer: &EcomCustomerRecord,
    ) -> OpResult {
        let customers = self
            .mailchimp
            .ecommerce()
            .store(&StoreId::from(store_id))
            .customers();
        self.calls.count("mailchimp ecommerce_customer_put");
        // The answer is not used: decoding it into a `Customer` was a few percent of the forward
        // path's CPU.
        let err = match customers
            .upsert_as::<IgnoredAny>(&customer.to_client())
            .await
        {
            Ok(_) => return Ok(Applied::default()),
            Err(err) if err.is_customer_email_immutable() => err,
            Err(err) => return Err(classify(err)),
        };
        let id = customer_id_for_address(&customer.id, &customer.email_address);
        if id == customer.id {
            return Err(classify(err));
        }
        let moved = EcomCustomerRecord {
            id: id.clone(),
            ..customer.clone()
        };
        self.calls.count("mailchimp ecommerce_customer_put");
        customers
            .upsert_as::<IgnoredAny>(&moved.to_client())
            .await
            .map(|_| Applied {
                created: Some(true),
                written_id: Some(id),
                ..Applied::default()
            })
            .map_err(classify)
    }

    /// Sends `ops` with at most `concurrency` in flight; results in input order.
    pub async fn execute_all(&self, ops: &[Operation], concurrency: usize) -> Vec<OpResult> {
        self.execute_owned(ops.to_vec(), concurrency, || {}).await
    }

    /// [`execute_all`](Self::execute_all) of operations the caller no longer needs, calling
    /// `dispatched` once the last of them has been handed to the connection window (at once
    /// when there are none).
    pub(crate) async fn execute_owned(
        &self,
        ops: Vec<Operation>,
        concurrency: usize,
        dispatched: impl FnOnce() + Send,
    ) -> Vec<OpResult> {
        let last = ops.len().checked_sub(1);
        let mut dispatched = Some(dispatched);
        let mut pass = move || {
            if let Some(f) = dispatched.take() {
                f();
            }
        };
        if last.is_none() {
            pass();
        }
        // Owned futures: borrowing ones make the caller's future `Send` only for one lifetime.
        // Unordered, so one slow call does not hold back the window; put back in order after.
        let mut results: Vec<(usize, OpResult)> = stream::iter(ops.into_iter().enumerate())
            .map(|(i, op)| {
                if Some(i) == last {
                    pass();
                }
                let executor = self.clone();
                async move { (i, executor.execute(&op).await) }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, result)| result).collect()
    }

    async fn upsert_member(&self, list_id: &str, member: &MemberRecord) -> OpResult {
        self.calls.count("mailchimp member_put");
        let mut request = self
            .mailchimp
            .list(&ListId::from(list_id))
            .members()
            .upsert(
                member.email_address.clone(),
                member.status_if_new.to_client(),
            );
        for (tag, value) in &member.merge_fields {
            request = request.merge_field(tag.clone(), value.clone());
        }
        match request.send().await {
            Ok(written) => Ok(Applied {
                created: None,
                member_status: written.status.as_ref().and_then(status_from_client),
                written_id: None,
            }),
            Err(err) => Err(classify(err)),
        }
    }

    /// The `PATCH` of [`Operation::ChangeMemberEmail`], falling back to an upsert at the new
    /// address when the old one is gone.
    async fn change_email(&self, list_id: &str, old: &str, member: &MemberRecord) -> OpResult {
        self.calls.count("mailchimp member_patch");
        let mut request = self
            .mailchimp
            .list(&ListId::from(list_id))
            .members()
            .update(&SubscriberHash::from_email(old))
            .email_address(member.email_address.clone());
        for (tag, value) in &member.merge_fields {
            request = request.merge_field(tag.clone(), value.clone());
        }
        let moved = match request.send().await {
            Ok(written) => {
                return Ok(Applied {
                    created: Some(false),
                    member_status: written.status.as_ref().and_then(status_from_client),
                    written_id: None,
                })
            }
            Err(err) if err.is_not_found() => true,
            // The new address is taken: by another member, or by this one if the change was
            // already made (then the old address is gone).
            Err(err) if err.is_member_exists() => !self.is_member(list_id, old).await?,
            Err(err) => return Err(classify(err)),
        };
        if !moved {
            return Err(NotApplied::Skipped {
                reason: format!(
                    "email change not made: {} already belongs to another member of the audience (members are never merged)",
                    member.email_address
                ),
                status: None,
            });
        }
        let mut applied = self.upsert_member(list_id, member).await?;
        applied.created = None;
        Ok(applied)
    }

    /// Whether `email` is a member of the list (archived or not).
    async fn is_member(&self, list_id: &str, email: &str) -> Result<bool, NotApplied> {
        self.calls.count("mailchimp member get");
        match self
            .mailchimp
            .list(&ListId::from(list_id))
            .members()
            .get(&SubscriberHash::from_email(email))
            .fields(["email_address", "status"])
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err) if err.is_not_found() => Ok(false),
            Err(err) => Err(classify(err)),
        }
    }

    /// Batch-subscribes `members` (500 a call, `update_existing: false`, status =
    /// `status_if_new`) and returns one result per member, in input order.
    ///
    /// Addresses already on the list come back from Mailchimp as "contact exists"; each is then
    /// read (`GET`) and, unless its status is cleaned or unsubscribed, updated with a `PUT` that
    /// leaves its status alone. So no batch ever changes an existing member's status. A failed
    /// call fails every member it carried.
    pub async fn subscribe_batch(&self, list_id: &str, members: &[MemberRecord]) -> Vec<OpResult> {
        self.subscribe_batch_known(list_id, members, &HashMap::new())
            .await
    }

    /// [`subscribe_batch`](Self::subscribe_batch) for an audience whose members' `current`
    /// statuses were just read (keyed by [normalized](crate::normalize_email) address).
    ///
    /// Members found in `current` with a status that forbids writing (cleaned, unsubscribed, …)
    /// are skipped without a call; the other ones found there go in batches with
    /// `update_existing: true`, each carrying its current status, so their merge fields are
    /// updated and their status stays. The rest go as in `subscribe_batch`
    /// (`update_existing: false`), so a member added since `current` was read still comes back as
    /// "contact exists" and keeps its status. Sending an existing member's batch again after a
    /// lost response writes the same values: retries are harmless.
    ///
    /// `members` may be records or references to them (`&[&MemberRecord]`), so a caller that
    /// keeps its records need not copy them.
    pub async fn subscribe_batch_known<M: Borrow<MemberRecord> + Sync>(
        &self,
        list_id: &str,
        members: &[M],
        current: &HashMap<String, MemberStatus>,
    ) -> Vec<OpResult> {
        let list = ListId::from(list_id);
        let mut results: Vec<Option<OpResult>> = vec![None; members.len()];
        let mut existing = Vec::new();
        let mut new = Vec::new();
        for (i, member) in members.iter().map(Borrow::borrow).enumerate() {
            match current.get(&member.key()) {
                Some(status) if status.blocks_push() => {
                    results[i] = Some(Err(NotApplied::Skipped {
                        reason: format!("member is {status} in Mailchimp"),
                        status: Some(*status),
                    }));
                }
                Some(status) => match keep_status(*status) {
                    Some(keep) => existing.push((i, keep)),
                    None => new.push((i, member.status_if_new.to_client())),
                },
                None => new.push((i, member.status_if_new.to_client())),
            }
        }
        for (group, update_existing) in [(existing, true), (new, false)] {
            for chunk in group.chunks(mailchimp_client::BATCH_SUBSCRIBE_LIMIT) {
                let sent = self
                    .batch_chunk(&list, members, chunk, update_existing)
                    .await;
                for ((i, _), result) in chunk.iter().zip(sent) {
                    results[*i] = Some(result);
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(NotApplied::Failed("member was not sent".into()))))
            .collect()
    }

    /// One batch subscribe call: `chunk` holds indexes into `members` with the status to send.
    async fn batch_chunk<M: Borrow<MemberRecord> + Sync>(
        &self,
        list: &ListId,
        members: &[M],
        chunk: &[(usize, mailchimp_client::MemberStatus)],
        update_existing: bool,
    ) -> Vec<OpResult> {
        self.calls.count("mailchimp batch_subscribe");
        let chunk: Vec<(&MemberRecord, &mailchimp_client::MemberStatus)> = chunk
            .iter()
            .filter_map(|(i, status)| members.get(*i).map(|m| (m.borrow(), status)))
            .collect();
        let batch = chunk
            .iter()
            .map(|(m, status)| {
                m.merge_fields.iter().fold(
                    BatchMember::new(m.email_address.clone(), (*status).clone()),
                    |b, (tag, value)| b.merge_field(tag.clone(), value.clone()),
                )
            })
            .collect();
        let report = match self
            .mailchimp
            .list(list)
            .batch_subscribe(batch)
            .update_existing(update_existing)
            .send_as::<BatchWritten>()
            .await
        {
            Ok(report) => report,
            Err(err) => {
                let failure = classify(err);
                return chunk.iter().map(|_| Err(failure.clone())).collect();
            }
        };
        let key = |email: &str| crate::normalize_email(email);
        let written: HashMap<String, (bool, Option<MemberStatus>)> = report
            .new_members
            .iter()
            .map(|m| (m, true))
            .chain(report.updated_members.iter().map(|m| (m, false)))
            .map(|(m, created)| {
                (
                    key(m.email_address.as_deref().unwrap_or_default()),
                    (created, m.status.as_ref().and_then(status_from_client)),
                )
            })
            .collect();
        let errors: HashMap<String, &mailchimp_client::BatchMemberError> = report
            .errors
            .iter()
            .map(|e| (key(&e.email_address), e))
            .collect();
        // Addresses already on the list are read and updated one call pair each; run those
        // pairs up to the client's cap (which bounds them anyway), keeping the members' order.
        let (errors, written) = (&errors, &written);
        // Futures built in a loop, not a `map` closure: a closure over these borrows makes the
        // future's `Send` bound higher-ranked, which callers that spawn a run cannot prove.
        let mut calls = Vec::with_capacity(chunk.len());
        for (member, sent) in chunk {
            calls.push(async move {
                let k = member.key();
                if let Some(error) = errors.get(&k) {
                    if error.error_code == BatchErrorCode::ContactExists {
                        self.update_existing(list, member).await
                    } else {
                        Err(classify_batch_error(error))
                    }
                } else {
                    let (created, status) = written.get(&k).cloned().unwrap_or((false, None));
                    Ok(Applied {
                        created: Some(created),
                        member_status: status.or_else(|| status_from_client(sent)),
                        written_id: None,
                    })
                }
            });
        }
        stream::iter(calls)
            .buffered(self.mailchimp.max_concurrency().max(1))
            .collect()
            .await
    }

    /// An address the batch found on the list: skip it if its status forbids writing, else
    /// update it without touching its status.
    async fn update_existing(&self, list: &ListId, member: &MemberRecord) -> OpResult {
        self.calls.count("mailchimp member get");
        let hash = SubscriberHash::from_email(&member.email_address);
        let current = self
            .mailchimp
            .list(list)
            .members()
            .get(&hash)
            .fields(["email_address", "status"])
            .send()
            .await
            .map_err(classify)?;
        if let Some(status) = current.status.as_ref().and_then(status_from_client) {
            if status.blocks_push() {
                return Err(NotApplied::Skipped {
                    reason: format!("member is {status} in Mailchimp"),
                    status: Some(status),
                });
            }
        }
        let mut applied = self.upsert_member(list.as_str(), member).await?;
        applied.created = Some(false);
        Ok(applied)
    }
}

/// The status to send for an existing member so that it keeps `status`; `None` when it cannot
/// be sent as it is: archived (the member is written as a new one), and pending, since sending
/// `pending` again can make Mailchimp mail the opt-in confirmation once more; a pending member
/// takes the contact-exists path, whose `PUT` sends no status.
fn keep_status(status: MemberStatus) -> Option<mailchimp_client::MemberStatus> {
    match status {
        MemberStatus::Subscribed => Some(mailchimp_client::MemberStatus::Subscribed),
        MemberStatus::Transactional => Some(mailchimp_client::MemberStatus::Transactional),
        _ => None,
    }
}

/// What a batch subscribe's answer is read for, of each member it added or updated: decoding
/// whole members (every field of up to 500 a call) was a few percent of the forward path's CPU.
#[derive(Deserialize)]
struct BatchWritten {
    email_address: Option<String>,
    status: Option<mailchimp_client::MemberStatus>,
}

/// A client status as the state store's [`MemberStatus`].
fn status_from_client(status: &mailchimp_client::MemberStatus) -> Option<MemberStatus> {
    status.as_str().parse().ok()
}

/// A removal's result: a record already gone (`404`) is what the removal wanted, so it is done
/// (an earlier attempt whose answer was lost, or a person removed it in Mailchimp).
fn gone_is_done(result: mailchimp_client::Result<()>) -> OpResult {
    match result {
        Ok(()) => Ok(Applied::default()),
        Err(err) if err.is_not_found() => Ok(Applied::default()),
        Err(err) => Err(classify(err)),
    }
}

/// The reason a report groups Mailchimp's "looks fake or invalid" refusals under.
const FAKE_LOOKING: &str = "address refused by Mailchimp as fake-looking";
/// The reason a report groups Mailchimp's temporary signup throttling under.
const SIGNUP_THROTTLED: &str = "signup throttled by Mailchimp (temporary, retried later)";

/// Sorts a client error into skip, reject, defer or fail.
fn classify(err: mailchimp_client::Error) -> NotApplied {
    use mailchimp_client::Error;
    let text = describe(&err);
    match &err {
        Error::MemberInCompliance(_) => NotApplied::Skipped {
            reason: "member in compliance state (unsubscribed, bounced or under review)".into(),
            status: Some(MemberStatus::ComplianceState),
        },
        Error::ForgottenEmail(_) => NotApplied::Skipped {
            reason: "member was permanently deleted (forgotten)".into(),
            status: Some(MemberStatus::Forgotten),
        },
        // Signup throttling lifts after a while: deferred to a later run (the retry queue's
        // backoff), neither a rejection nor a failure (issue #18, item 5).
        _ if err.is_signup_throttled() => {
            NotApplied::Deferred(format!("{SIGNUP_THROTTLED}: {text}"))
        }
        _ if err.is_fake_or_invalid_email() => {
            NotApplied::Rejected(format!("{FAKE_LOOKING}: {text}"))
        }
        Error::InvalidInput { .. } | Error::InvalidResource(_) => NotApplied::Rejected(text),
        _ => NotApplied::Failed(text),
    }
}

/// The error with its problem details and field errors, for the audit trail.
fn describe(err: &mailchimp_client::Error) -> String {
    let mut text = err.to_string();
    for field in err.field_errors() {
        text.push_str(&format!("; {}: {}", field.field, field.message));
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn classify_batch_error(error: &mailchimp_client::BatchMemberError) -> NotApplied {
    let message = error.error.to_lowercase();
    let full = if error.field.is_empty() {
        error.error.clone()
    } else {
        format!("{} ({}: {})", error.error, error.field, error.field_message)
    };
    if message.contains("compliance state") {
        NotApplied::Skipped {
            reason: "member in compliance state (unsubscribed, bounced or under review)".into(),
            status: Some(MemberStatus::ComplianceState),
        }
    } else if message.contains("permanently deleted") || message.contains("forgotten") {
        NotApplied::Skipped {
            reason: "member was permanently deleted (forgotten)".into(),
            status: Some(MemberStatus::Forgotten),
        }
    } else if message.contains("signed up to a lot of lists") {
        // Temporary, as in `classify`.
        NotApplied::Deferred(format!("{SIGNUP_THROTTLED}: {full}"))
    } else if message.contains("looks fake or invalid") {
        NotApplied::Rejected(format!("{FAKE_LOOKING}: {full}"))
    } else if !error.field.is_empty() || message.contains("invalid") || message.contains("fake") {
        NotApplied::Rejected(full)
    } else {
        NotApplied::Failed(full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{map_ecommerce_customer, map_product, MappingConfig, SourceFields};
    use serde_json::json;

    #[test]
    fn every_operation_survives_the_audit_payload() {
        let config = MappingConfig::default();
        let fields = SourceFields::of(
            &json!({"EMail": "a@northwind-mfg.com", "addressName": "Ann Lee",
                                              "description": "Widget", "price": "3.10"}),
        );
        let customer = map_ecommerce_customer("C1", &fields, &config.customer).unwrap();
        let product = map_product("W1", &fields, &config.item).unwrap();
        let ops = [
            Operation::UpsertEcomCustomer {
                store_id: "s".into(),
                customer,
            },
            Operation::UpsertProduct {
                store_id: "s".into(),
                product,
            },
            Operation::SetMemberTags {
                list_id: "l".into(),
                email_address: "a@northwind-mfg.com".into(),
                active: ["x".to_owned()].into(),
                inactive: BTreeSet::new(),
            },
            Operation::ChangeMemberEmail {
                list_id: "l".into(),
                old_email_address: "old@northwind-mfg.com".into(),
                member: crate::mapping::map_member(&fields, &config.customer)
                    .unwrap()
                    .record,
            },
            Operation::ArchiveMember {
                list_id: "l".into(),
                email_address: "a@northwind-mfg.com".into(),
            },
            Operation::DeleteMemberPermanently {
                list_id: "l".into(),
                email_address: "a@northwind-mfg.com".into(),
            },
            Operation::DeleteEcomCustomer {
                store_id: "s".into(),
                customer_id: "C1".into(),
            },
            Operation::DeleteProduct {
                store_id: "s".into(),
                product_id: "W1".into(),
            },
            Operation::HideProduct {
                store_id: "s".into(),
                product_id: "W1".into(),
            },
        ];
        let removals = ops.iter().filter(|op| op.is_removal()).count();
        assert_eq!(removals, 5);
        for op in ops {
            let stored = crate::audit::redact_payload(op.to_payload().unwrap());
            assert_eq!(Operation::from_payload(stored.clone()).unwrap(), op);
            // The forward path stores the operation's text directly: the same payload.
            let text = crate::audit::redacted_json(&op).unwrap();
            let read_back: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(read_back, stored);
        }
        assert!(Operation::from_payload(json!({"op": "launch_rocket"})).is_err());
    }

    #[test]
    fn batch_errors_are_classified() {
        let classify = |v: serde_json::Value| {
            classify_batch_error(
                &serde_json::from_value::<mailchimp_client::BatchMemberError>(v).unwrap(),
            )
        };
        let compliance = classify(
            json!({"email_address": "a@x.io", "error_code": "ERROR_GENERIC",
            "error": "a@x.io is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed."}),
        );
        assert_eq!(compliance.outcome(), Outcome::Skipped);
        assert!(matches!(
            compliance,
            NotApplied::Skipped {
                status: Some(MemberStatus::ComplianceState),
                ..
            }
        ));
        let invalid = classify(
            json!({"email_address": "b@x", "error": "b@x looks fake or invalid, please enter a real email address.",
            "field": "email_address", "field_message": "This value should be a valid email."}),
        );
        assert_eq!(invalid.outcome(), Outcome::Rejected);
        assert!(invalid.reason().contains("email_address"));
        let other = classify(json!({"email_address": "c@x.io", "error": "Something went wrong"}));
        assert_eq!(other.outcome(), Outcome::Failed);
        let throttled = classify(
            json!({"email_address": "d@x.io", "error_code": "ERROR_GENERIC",
            "error": "d@x.io has signed up to a lot of lists very recently; we're not allowing more signups for now"}),
        );
        assert_eq!(throttled.outcome(), Outcome::Deferred);
        assert!(throttled.reason().starts_with(SIGNUP_THROTTLED));
    }
}
