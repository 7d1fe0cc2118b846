//! Query strings and partial-response field selection.

/// The query parameters of one request, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Query(Vec<(&'static str, String)>);

impl Query {
    /// An empty query.
    pub(crate) fn new() -> Self {
        Query(Vec::new())
    }

    /// Adds `key=value`.
    pub(crate) fn push(&mut self, key: &'static str, value: impl ToString) -> &mut Self {
        self.0.push((key, value.to_string()));
        self
    }

    /// Adds `key=value` when `value` is `Some`.
    pub(crate) fn push_opt<V: ToString>(
        &mut self,
        key: &'static str,
        value: Option<V>,
    ) -> &mut Self {
        if let Some(value) = value {
            self.push(key, value);
        }
        self
    }

    /// The value of `key`, if set.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Replaces every `key` with one `key=value`.
    pub(crate) fn set(&mut self, key: &'static str, value: impl ToString) -> &mut Self {
        self.0.retain(|(k, _)| *k != key);
        self.push(key, value)
    }

    /// The pairs, for the URL.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str()))
    }
}

/// Which fields a read returns: Mailchimp's `fields` / `exclude_fields`
/// (comma-separated, dot notation such as `members.email_address`).
///
/// The two are mutually exclusive at Mailchimp, so setting one replaces the
/// other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum FieldSelection {
    /// Everything (the default).
    #[default]
    All,
    /// Only these fields.
    Only(Vec<String>),
    /// Everything but these fields.
    Except(Vec<String>),
}

impl FieldSelection {
    /// `Only` from a caller's list.
    pub(crate) fn only<I, S>(fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        FieldSelection::Only(fields.into_iter().map(Into::into).collect())
    }

    /// `Except` from a caller's list.
    pub(crate) fn except<I, S>(fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        FieldSelection::Except(fields.into_iter().map(Into::into).collect())
    }

    /// Adds `fields=` or `exclude_fields=` to `query`.
    pub(crate) fn apply(&self, query: &mut Query) {
        match self {
            FieldSelection::All => {}
            FieldSelection::Only(f) if !f.is_empty() => {
                query.set("fields", f.join(","));
            }
            FieldSelection::Except(f) if !f.is_empty() => {
                query.set("exclude_fields", f.join(","));
            }
            _ => {}
        }
    }
}

/// Keeps `total_items` in a page's response whatever the caller selected:
/// the paginator needs it to know when to stop.
pub(crate) fn keep_total_items(query: &mut Query) {
    if let Some(fields) = query.get("fields") {
        if !fields.split(',').any(|f| f.trim() == "total_items") {
            let with_total = format!("{fields},total_items");
            query.set("fields", with_total);
        }
    }
    if let Some(excluded) = query.get("exclude_fields") {
        let kept: Vec<&str> = excluded
            .split(',')
            .filter(|f| f.trim() != "total_items")
            .collect();
        let kept = kept.join(",");
        query.set("exclude_fields", kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_sets_one_parameter() {
        let mut q = Query::new();
        FieldSelection::only(["members.id", "members.status"]).apply(&mut q);
        assert_eq!(q.get("fields"), Some("members.id,members.status"));
        let mut q = Query::new();
        FieldSelection::except(["_links"]).apply(&mut q);
        assert_eq!(q.get("exclude_fields"), Some("_links"));
        assert_eq!(q.get("fields"), None);
    }

    #[test]
    fn paging_keeps_total_items() {
        let mut q = Query::new();
        q.push("fields", "members.id");
        keep_total_items(&mut q);
        assert_eq!(q.get("fields"), Some("members.id,total_items"));
        let mut q = Query::new();
        q.push("exclude_fields", "total_items,_links");
        keep_total_items(&mut q);
        assert_eq!(q.get("exclude_fields"), Some("_links"));
    }
}
