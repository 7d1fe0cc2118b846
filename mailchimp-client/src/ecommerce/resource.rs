//! The core every e-commerce handler shares: one collection's path, and the
//! list, get, put, patch, post and delete requests on it and its items.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::read::GetRequest;
use crate::client::Client;
use crate::error::Result;
use crate::page::Collection;
use crate::query::Query;

/// One e-commerce collection, such as `ecommerce/stores/{store_id}/customers`.
///
/// Handlers wrap it and add their typed ids, input checks and docs; the
/// paths are built here only.
#[derive(Debug, Clone)]
pub(crate) struct Resource {
    client: Client,
    /// The collection's path segments after the API root.
    path: Vec<String>,
    /// The collection's name: its last path segment, and the key holding
    /// the items of its list answer.
    name: &'static str,
}

impl Resource {
    /// The top-level collection `ecommerce/{name}`.
    pub(crate) fn top_level(client: Client, name: &'static str) -> Self {
        Resource {
            client,
            path: vec!["ecommerce".to_owned(), name.to_owned()],
            name,
        }
    }

    /// The collection `name` under this collection's item `id`, such as a
    /// store's customers or a product's variants.
    pub(crate) fn nested(&self, id: &str, name: &'static str) -> Self {
        let mut path = self.path.clone();
        path.push(id.to_owned());
        path.push(name.to_owned());
        Resource {
            client: self.client.clone(),
            path,
            name,
        }
    }

    /// `GET` of the collection: the state of a list request builder.
    pub(crate) fn list(&self) -> Collection {
        Collection::new(self.client.clone(), &self.collection_path(), self.name)
    }

    /// `GET` of item `id`.
    pub(crate) fn get<T: DeserializeOwned>(&self, id: &str) -> GetRequest<T> {
        GetRequest::new(&self.client, &self.item_path(id))
    }

    /// `PUT` of item `id`: adds it, or updates it if it exists.
    pub(crate) async fn put<B, T>(&self, id: &str, body: &B) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.client
            .send_json(Method::PUT, &self.item_path(id), &Query::new(), body)
            .await
    }

    /// `PATCH` of item `id`: changes the fields `body` sets.
    pub(crate) async fn patch<B, T>(&self, id: &str, body: &B) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.client
            .send_json(Method::PATCH, &self.item_path(id), &Query::new(), body)
            .await
    }

    /// `POST` to the collection: creates an item. Not retried.
    pub(crate) async fn post<B, T>(&self, body: &B) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.client
            .send_json(Method::POST, &self.collection_path(), &Query::new(), body)
            .await
    }

    /// `POST` to the collection, retried: only for a create whose repeat
    /// cannot make a second item (see `Ecommerce::ensure_store`).
    pub(crate) async fn post_idempotent<B, T>(&self, body: &B) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.client
            .post_idempotent(&self.collection_path(), &Query::new(), body)
            .await
    }

    /// `DELETE` of item `id`.
    pub(crate) async fn delete(&self, id: &str) -> Result<()> {
        self.client.delete(&self.item_path(id), &Query::new()).await
    }

    fn collection_path(&self) -> Vec<&str> {
        self.path.iter().map(String::as_str).collect()
    }

    fn item_path<'a>(&'a self, id: &'a str) -> Vec<&'a str> {
        let mut path = self.collection_path();
        path.push(id);
        path
    }
}
