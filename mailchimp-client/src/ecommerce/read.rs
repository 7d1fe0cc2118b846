//! The one request builder every single-resource e-commerce read uses.

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::Result;
use crate::page::field_selection_methods;
use crate::query::{FieldSelection, Query};

/// A `GET` of one e-commerce resource (a store, customer, product, variant
/// or order); finish it with [`send`](Self::send).
#[must_use = "call `.send()`"]
pub struct GetRequest<T> {
    client: Client,
    path: Vec<String>,
    fields: FieldSelection,
    // `fn() -> T` keeps the builder `Send + Sync` whatever `T` is.
    item: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for GetRequest<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetRequest")
            .field("path", &self.path)
            .field("fields", &self.fields)
            .finish_non_exhaustive()
    }
}

impl<T> Clone for GetRequest<T> {
    fn clone(&self) -> Self {
        GetRequest {
            client: self.client.clone(),
            path: self.path.clone(),
            fields: self.fields.clone(),
            item: PhantomData,
        }
    }
}

impl<T: DeserializeOwned> GetRequest<T> {
    pub(crate) fn new(client: &Client, path: &[&str]) -> Self {
        GetRequest {
            client: client.clone(),
            path: path.iter().map(|s| (*s).to_owned()).collect(),
            fields: FieldSelection::All,
            item: PhantomData,
        }
    }

    field_selection_methods!();

    /// Fetches the resource.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) when it does not exist
    /// (or its store does not); [`Error::InvalidInput`](crate::Error::InvalidInput)
    /// for an empty id; otherwise the API and transport errors of
    /// [`Error`](crate::Error).
    pub async fn send(self) -> Result<T> {
        let mut query = Query::new();
        self.fields.apply(&mut query);
        let path: Vec<&str> = self.path.iter().map(String::as_str).collect();
        self.client.get(&path, &query).await
    }
}
