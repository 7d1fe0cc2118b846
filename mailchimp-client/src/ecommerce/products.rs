//! Products and their variants: `GET …/products`,
//! `PUT/GET/DELETE …/products/{product_id}`, `GET …/variants` and
//! `PUT …/variants/{variant_id}`.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::ids::{ProductId, VariantId};
use super::money::{opt_amount, Decimal};
use super::read::GetRequest;
use super::resource::Resource;
use super::stores::StoreHandler;
use super::validate;
use crate::error::Result;
use crate::page::{collection_methods, Collection};

/// A product, as Mailchimp returns it. A product read carries at most 50
/// variants; use [`ProductVariants::list`] for all of them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Product {
    /// The product id.
    pub id: ProductId,
    /// The title.
    #[serde(default, deserialize_with = "crate::serde_util::null_as_default")]
    pub title: String,
    /// The store's currency.
    #[serde(default)]
    pub currency_code: Option<String>,
    /// The URL handle.
    #[serde(default)]
    pub handle: Option<String>,
    /// The product page.
    #[serde(default)]
    pub url: Option<String>,
    /// The description.
    #[serde(default)]
    pub description: Option<String>,
    /// The product type (`type` on the wire).
    #[serde(default, rename = "type")]
    pub product_type: Option<String>,
    /// The vendor.
    #[serde(default)]
    pub vendor: Option<String>,
    /// The image.
    #[serde(default)]
    pub image_url: Option<String>,
    /// Up to 50 of the product's variants.
    #[serde(default, deserialize_with = "crate::serde_util::null_as_default")]
    pub variants: Vec<Variant>,
    /// When the product was published in the shop.
    #[serde(default, deserialize_with = "crate::serde_util::opt_datetime")]
    pub published_at_foreign: Option<DateTime<FixedOffset>>,
}

/// A product variant, as Mailchimp returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Variant {
    /// The variant id.
    pub id: VariantId,
    /// The title.
    #[serde(default, deserialize_with = "crate::serde_util::null_as_default")]
    pub title: String,
    /// The variant page.
    #[serde(default)]
    pub url: Option<String>,
    /// The SKU.
    #[serde(default)]
    pub sku: Option<String>,
    /// The price, exact.
    #[serde(default, with = "opt_amount")]
    pub price: Option<Decimal>,
    /// Units in stock.
    #[serde(default)]
    pub inventory_quantity: Option<i64>,
    /// The image.
    #[serde(default)]
    pub image_url: Option<String>,
    /// The backorders setting.
    #[serde(default)]
    pub backorders: Option<String>,
    /// The visibility.
    #[serde(default)]
    pub visibility: Option<String>,
    /// When the variant was created.
    #[serde(default, deserialize_with = "crate::serde_util::opt_datetime")]
    pub created_at: Option<DateTime<FixedOffset>>,
    /// When the variant was last updated.
    #[serde(default, deserialize_with = "crate::serde_util::opt_datetime")]
    pub updated_at: Option<DateTime<FixedOffset>>,
}

/// A product to add or update by id (`PUT`), with at least one variant.
///
/// ```
/// use mailchimp_client::ecommerce::{Decimal, ProductId, ProductInput, VariantId, VariantInput};
///
/// let mut variant = VariantInput::new(VariantId::from("WIDGET-1-RED"), "Widget, red");
/// variant.price = Some(Decimal::new(1999, 2)); // 19.99
/// variant.sku = Some("W1R".into());
/// let mut product = ProductInput::new(ProductId::from("WIDGET-1"), "Widget", vec![variant]);
/// product.vendor = Some("Acme".into());
/// let json = serde_json::to_value(&product).unwrap();
/// assert_eq!(json["variants"][0]["price"], serde_json::json!(19.99));
/// assert_eq!(json["vendor"], "Acme");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ProductInput {
    /// The product id (required).
    pub id: ProductId,
    /// The title (required).
    pub title: String,
    /// The variants (at least one; a product without options has one
    /// variant, usually with the product's own id and title).
    pub variants: Vec<VariantInput>,
    /// The URL handle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// The product page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The product type (`type` on the wire).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub product_type: Option<String>,
    /// The vendor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// The image; product recommendations need it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// When the product was published in the shop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_at_foreign: Option<DateTime<FixedOffset>>,
}

impl ProductInput {
    /// A product with its required fields and no optional ones.
    pub fn new(id: ProductId, title: impl Into<String>, variants: Vec<VariantInput>) -> Self {
        ProductInput {
            id,
            title: title.into(),
            variants,
            handle: None,
            url: None,
            description: None,
            product_type: None,
            vendor: None,
            image_url: None,
            published_at_foreign: None,
        }
    }

    fn validate(&self) -> Result<()> {
        validate::non_empty("product.id", self.id.as_str())?;
        validate::non_empty("product.title", &self.title)?;
        if self.variants.is_empty() {
            return Err(crate::Error::invalid_input(
                "product.variants",
                "must hold at least one variant",
            ));
        }
        for (index, variant) in self.variants.iter().enumerate() {
            variant.validate(&format!("product.variants[{index}]"))?;
        }
        Ok(())
    }
}

/// A product variant to add or update by id (`PUT`), or to send inside a
/// [`ProductInput`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct VariantInput {
    /// The variant id (required).
    pub id: VariantId,
    /// The title (required).
    pub title: String,
    /// The variant page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The SKU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// The price, sent as a JSON number.
    #[serde(with = "opt_amount", skip_serializing_if = "Option::is_none")]
    pub price: Option<Decimal>,
    /// Units in stock; recommendations need it above zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inventory_quantity: Option<i64>,
    /// The image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// The backorders setting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backorders: Option<String>,
    /// The visibility.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
}

impl VariantInput {
    /// A variant with its required fields and no optional ones.
    pub fn new(id: VariantId, title: impl Into<String>) -> Self {
        VariantInput {
            id,
            title: title.into(),
            url: None,
            sku: None,
            price: None,
            inventory_quantity: None,
            image_url: None,
            backorders: None,
            visibility: None,
        }
    }

    fn validate(&self, prefix: &str) -> Result<()> {
        validate::non_empty(&format!("{prefix}.id"), self.id.as_str())?;
        validate::non_empty(&format!("{prefix}.title"), &self.title)
    }
}

impl StoreHandler {
    /// The store's products.
    pub fn products(&self) -> Products {
        Products {
            resource: self.resource("products"),
        }
    }
}

/// A store's products; made by [`StoreHandler::products`].
#[derive(Debug, Clone)]
pub struct Products {
    resource: Resource,
}

impl Products {
    /// `GET …/products`: the store's products.
    pub fn list(&self) -> ProductsRequest {
        ProductsRequest {
            inner: self.resource.list(),
        }
    }

    /// `GET …/products/{product_id}` (with at most 50 variants).
    pub fn get(&self, id: &ProductId) -> GetRequest<Product> {
        self.resource.get(id.as_str())
    }

    /// `PUT …/products/{product_id}`: adds the product, or updates it if the
    /// id exists, so a re-run never duplicates it.
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::ecommerce::{ProductId, ProductInput, StoreId, VariantId, VariantInput};
    ///
    /// let variant = VariantInput::new(VariantId::from("WIDGET-1"), "Widget");
    /// let product = ProductInput::new(ProductId::from("WIDGET-1"), "Widget", vec![variant]);
    /// client.ecommerce().store(&StoreId::from("acme-eu")).products().upsert(&product).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) naming the field
    /// when the id or title is empty, there is no variant, or a variant lacks
    /// its id or title (no request is sent);
    /// [`Error::InvalidResource`](crate::Error::InvalidResource) when
    /// Mailchimp rejects a field; otherwise the API and transport errors of
    /// [`Error`](crate::Error).
    pub async fn upsert(&self, product: &ProductInput) -> Result<Product> {
        self.upsert_as(product).await
    }

    /// [`upsert`](Self::upsert), decoding Mailchimp's answer into a type of the caller's:
    /// [`serde::de::IgnoredAny`] when only success matters (the answer, variants and all, is
    /// still read and checked to be JSON, but nothing of it is kept).
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::ecommerce::{ProductId, ProductInput, StoreId, VariantId, VariantInput};
    /// use serde::de::IgnoredAny;
    ///
    /// let variant = VariantInput::new(VariantId::from("WIDGET-1"), "Widget");
    /// let product = ProductInput::new(ProductId::from("WIDGET-1"), "Widget", vec![variant]);
    /// let products = client.ecommerce().store(&StoreId::from("acme-eu")).products();
    /// products.upsert_as::<IgnoredAny>(&product).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`upsert`](Self::upsert); [`Error::Decode`](crate::Error::Decode) when the
    /// answer does not decode as `T`.
    pub async fn upsert_as<T: serde::de::DeserializeOwned>(
        &self,
        product: &ProductInput,
    ) -> Result<T> {
        product.validate()?;
        self.resource.put(product.id.as_str(), product).await
    }

    /// `DELETE …/products/{product_id}`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown product;
    /// otherwise the API and transport errors of [`Error`](crate::Error).
    pub async fn delete(&self, id: &ProductId) -> Result<()> {
        self.resource.delete(id.as_str()).await
    }

    /// The variants of product `id`.
    pub fn variants(&self, id: &ProductId) -> ProductVariants {
        ProductVariants {
            resource: self.resource.nested(id.as_str(), "variants"),
        }
    }
}

/// `GET …/products`; made by [`Products::list`].
#[derive(Debug, Clone)]
#[must_use = "call `.send()` or `.into_stream()`"]
pub struct ProductsRequest {
    inner: Collection,
}

impl ProductsRequest {
    collection_methods!(Product);
}

/// One product's variants; made by [`Products::variants`].
#[derive(Debug, Clone)]
pub struct ProductVariants {
    resource: Resource,
}

impl ProductVariants {
    /// `GET …/products/{product_id}/variants`: every variant (a product
    /// read returns at most 50).
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use futures::TryStreamExt;
    /// use mailchimp_client::ecommerce::{ProductId, StoreId};
    ///
    /// let products = client.ecommerce().store(&StoreId::from("acme-eu")).products();
    /// let variants: Vec<_> = products
    ///     .variants(&ProductId::from("WIDGET-1"))
    ///     .list()
    ///     .into_stream()
    ///     .try_collect()
    ///     .await?;
    /// println!("{} variants", variants.len());
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> VariantsRequest {
        VariantsRequest {
            inner: self.resource.list(),
        }
    }

    /// `GET …/variants/{variant_id}`.
    pub fn get(&self, id: &VariantId) -> GetRequest<Variant> {
        self.resource.get(id.as_str())
    }

    /// `PUT …/variants/{variant_id}`: adds the variant, or updates it if the
    /// id exists.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) when the id or
    /// title is empty (no request is sent);
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown product;
    /// otherwise the API and transport errors of [`Error`](crate::Error).
    pub async fn upsert(&self, variant: &VariantInput) -> Result<Variant> {
        variant.validate("variant")?;
        self.resource.put(variant.id.as_str(), variant).await
    }

    /// `DELETE …/variants/{variant_id}`: removes one variant (answered by
    /// `204`; retried, as deleting twice leaves the same state).
    ///
    /// ```no_run
    /// # async fn run(client: mailchimp_client::Client) -> mailchimp_client::Result<()> {
    /// use mailchimp_client::ecommerce::{ProductId, StoreId, VariantId};
    ///
    /// let products = client.ecommerce().store(&StoreId::from("acme-eu")).products();
    /// products
    ///     .variants(&ProductId::from("WIDGET-1"))
    ///     .delete(&VariantId::from("WIDGET-1-RED"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown variant,
    /// product or store; otherwise the API and transport errors of
    /// [`Error`](crate::Error).
    pub async fn delete(&self, id: &VariantId) -> Result<()> {
        self.resource.delete(id.as_str()).await
    }
}

/// `GET …/variants`; made by [`ProductVariants::list`].
#[derive(Debug, Clone)]
#[must_use = "call `.send()` or `.into_stream()`"]
pub struct VariantsRequest {
    inner: Collection,
}

impl VariantsRequest {
    collection_methods!(Variant);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn products_need_a_complete_variant() {
        let product = ProductInput::new("p".into(), "P", vec![]);
        assert!(
            matches!(product.validate(), Err(Error::InvalidInput { ref field, .. }) if field == "product.variants")
        );
        let product = ProductInput::new(
            "p".into(),
            "P",
            vec![
                VariantInput::new("v1".into(), "V1"),
                VariantInput::new("v2".into(), ""),
            ],
        );
        assert!(
            matches!(product.validate(), Err(Error::InvalidInput { ref field, .. }) if field == "product.variants[1].title")
        );
    }
}
