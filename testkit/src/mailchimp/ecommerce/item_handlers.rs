//! The handlers every kind of store item (customers, products, orders) has alike.

/// Defines the handlers of one kind of store item, held in the store's `$items` table:
///
/// - `get`: answers with what `$render(state, store_id, id)` returns;
/// - `write`: `POST` (create, no id in the path), `PUT` (upsert) and `PATCH` (update), each answering
///   with what `$write(state, store_id, path_id, body, mode)` returns for its [`Mode`](super::Mode);
/// - `delete`: removes the item (204), or 404 when the store or the item is missing.
///
/// Items resolve where the macro is invoked, so that module imports the extractors and helpers named
/// here.
macro_rules! store_item_handlers {
    ($items:ident {
        get: $get:ident => $render:ident,
        write: $post:ident, $put:ident, $patch:ident => $write:ident,
        delete: $delete:ident $(,)?
    }) => {
        pub(super) async fn $get(
            State(app): State<App>,
            Path((store_id, id)): Path<(String, String)>,
            Query(query): Query<request::Query>,
        ) -> Reply {
            let value = $render(&app.lock(), &store_id, &id)?;
            ok(&query, value)
        }

        pub(super) async fn $post(
            State(app): State<App>,
            Path(store_id): Path<String>,
            Query(query): Query<request::Query>,
            ObjectBody(body): ObjectBody,
        ) -> Reply {
            let value = $write(&mut app.lock(), &store_id, None, &body, Mode::Post)?;
            ok(&query, value)
        }

        store_item_handlers!(@write_at_id $put => $write, Mode::Put);
        store_item_handlers!(@write_at_id $patch => $write, Mode::Patch);

        pub(super) async fn $delete(
            State(app): State<App>,
            Path((store_id, id)): Path<(String, String)>,
        ) -> Reply {
            store_mut(&mut app.lock(), &store_id)?
                .$items
                .remove(&id)
                .ok_or_else(Problem::not_found)?;
            no_content()
        }
    };
    (@write_at_id $handler:ident => $write:ident, $mode:expr) => {
        pub(super) async fn $handler(
            State(app): State<App>,
            Path((store_id, id)): Path<(String, String)>,
            Query(query): Query<request::Query>,
            ObjectBody(body): ObjectBody,
        ) -> Reply {
            let value = $write(&mut app.lock(), &store_id, Some(&id), &body, $mode)?;
            ok(&query, value)
        }
    };
}
