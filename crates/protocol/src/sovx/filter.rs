//! List filters: the `filter[...]` query family (LoopBack style, offset-based).

use crate::BuildError;

/// A list filter: `filter[limit]`, `filter[skip]`, `filter[sort]` and
/// `filter[where][<field>]` (optionally `filter[where][<field>][<op>]`).
///
/// Default and maximum limits, the sortable and filterable fields, and the operators the
/// server accepts are not documented; values are sent as given.
///
/// ```
/// use sova_protocol::sovx::Filter;
/// let f = Filter::new().limit(20).skip(40).sort("created_at DESC").where_eq("status", "PENDING");
/// assert_eq!(
///     f.to_query(),
///     vec![
///         ("filter[limit]".to_owned(), "20".to_owned()),
///         ("filter[skip]".to_owned(), "40".to_owned()),
///         ("filter[sort]".to_owned(), "created_at DESC".to_owned()),
///         ("filter[where][status]".to_owned(), "PENDING".to_owned()),
///     ]
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// `filter[limit]`: the page size.
    pub limit: Option<u32>,
    /// `filter[skip]`: how many items to skip (the offset).
    pub skip: Option<u64>,
    /// `filter[sort]`, e.g. `created_at DESC`.
    pub sort: Option<String>,
    /// `filter[where]` conditions, in order.
    pub conditions: Vec<Condition>,
}

/// One `filter[where]` condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The field.
    pub field: String,
    /// An operator such as `gt`, `lt`, `inq` (sent as `filter[where][field][op]`); `None` for
    /// equality.
    pub op: Option<String>,
    /// The value.
    pub value: String,
}

impl Condition {
    /// `filter[where][field]=value`.
    pub fn eq(field: impl Into<String>, value: impl Into<String>) -> Self {
        Condition {
            field: field.into(),
            op: None,
            value: value.into(),
        }
    }

    /// `filter[where][field][op]=value`.
    pub fn op(field: impl Into<String>, op: impl Into<String>, value: impl Into<String>) -> Self {
        Condition {
            field: field.into(),
            op: Some(op.into()),
            value: value.into(),
        }
    }
}

impl Filter {
    /// An empty filter (no query parameters).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `filter[limit]`.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Sets `filter[skip]`.
    pub fn skip(mut self, skip: u64) -> Self {
        self.skip = Some(skip);
        self
    }

    /// Sets `filter[sort]`.
    pub fn sort(mut self, sort: impl Into<String>) -> Self {
        self.sort = Some(sort.into());
        self
    }

    /// Adds `filter[where][field]=value`.
    pub fn where_eq(mut self, field: impl Into<String>, value: impl Into<String>) -> Self {
        self.conditions.push(Condition::eq(field, value));
        self
    }

    /// Adds `filter[where][field][op]=value`.
    pub fn where_op(
        mut self,
        field: impl Into<String>,
        op: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.conditions.push(Condition::op(field, op, value));
        self
    }

    /// Whether no parameter is set.
    pub fn is_empty(&self) -> bool {
        self.limit.is_none()
            && self.skip.is_none()
            && self.sort.is_none()
            && self.conditions.is_empty()
    }

    /// Checks field and operator names: non-empty, without brackets.
    pub fn validate(&self) -> Result<(), BuildError> {
        for c in &self.conditions {
            check_name("filter", &c.field)?;
            if let Some(op) = &c.op {
                check_name("filter", op)?;
            }
        }
        Ok(())
    }

    /// The query pairs, not yet percent-encoded (the base URL joiner encodes the brackets).
    pub fn to_query(&self) -> Vec<(String, String)> {
        let mut q = Vec::with_capacity(3 + self.conditions.len());
        if let Some(l) = self.limit {
            q.push(("filter[limit]".to_owned(), l.to_string()));
        }
        if let Some(s) = self.skip {
            q.push(("filter[skip]".to_owned(), s.to_string()));
        }
        if let Some(s) = &self.sort {
            q.push(("filter[sort]".to_owned(), s.clone()));
        }
        for c in &self.conditions {
            let key = match &c.op {
                None => format!("filter[where][{}]", c.field),
                Some(op) => format!("filter[where][{}][{op}]", c.field),
            };
            q.push((key, c.value.clone()));
        }
        q
    }
}

fn check_name(field: &'static str, name: &str) -> Result<(), BuildError> {
    if name.is_empty() {
        return Err(BuildError::input(
            field,
            "a field or operator name is empty",
        ));
    }
    if name.contains(['[', ']']) {
        return Err(BuildError::input(
            field,
            format!("{name:?} contains brackets"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BaseUrl;

    #[test]
    fn encodes_through_the_base_url() {
        let f = Filter::new()
            .limit(10)
            .where_op("amount", "gt", "0.5")
            .where_eq("currency", "usd");
        let uri = BaseUrl::parse("https://api.sandbox.sovera.io/sovx/v1")
            .unwrap()
            .join("/accounts/transactions", &f.to_query())
            .unwrap();
        assert_eq!(
            uri.to_string(),
            "https://api.sandbox.sovera.io/sovx/v1/accounts/transactions?filter%5Blimit%5D=10&filter%5Bwhere%5D%5Bamount%5D%5Bgt%5D=0.5&filter%5Bwhere%5D%5Bcurrency%5D=usd"
        );
        assert!(Filter::new().is_empty() && Filter::new().to_query().is_empty());
    }

    #[test]
    fn validates_names() {
        assert!(Filter::new().where_eq("", "x").validate().is_err());
        assert!(Filter::new().where_eq("a]b", "x").validate().is_err());
        assert!(Filter::new().where_op("a", "", "x").validate().is_err());
        assert!(Filter::new().where_op("a", "inq", "x").validate().is_ok());
    }
}
