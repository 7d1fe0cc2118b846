//! E-commerce id newtypes, so a product id cannot be passed where a variant
//! id goes. All are the caller's own ids (Mailchimp stores them as given).

use crate::ids::id_type;

id_type!(
    /// A store id, chosen by the caller when the store is created.
    ///
    /// ```
    /// use mailchimp_client::ecommerce::StoreId;
    /// assert_eq!(StoreId::from("acme-eu").as_str(), "acme-eu");
    /// ```
    StoreId
);

id_type!(
    /// A customer id within a store (at most 50 characters), such as the
    /// QAD customer code.
    CustomerId
);

id_type!(
    /// A product id within a store.
    ProductId
);

id_type!(
    /// A product variant id within a product.
    VariantId
);

id_type!(
    /// An order id within a store.
    OrderId
);

id_type!(
    /// An order line id within an order.
    OrderLineId
);
