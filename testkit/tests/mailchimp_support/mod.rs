//! Shared by the `mailchimp_*` tests: a fake plus a plain reqwest client that speaks to it.
#![allow(dead_code, clippy::unwrap_used)]

use serde_json::Value;
use testkit::mailchimp::FakeMailchimp;

/// A started fake and an authenticated plain-HTTP client.
pub struct Api {
    pub fake: FakeMailchimp,
    pub http: reqwest::Client,
}

/// A response's status and JSON body (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
}

impl Api {
    pub async fn start() -> Self {
        Self::with(FakeMailchimp::builder().start().await.unwrap())
    }

    pub fn with(fake: FakeMailchimp) -> Self {
        Self {
            fake,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.fake.api_url())
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self
            .http
            .request(method, self.url(path))
            .basic_auth("anystring", Some(self.fake.api_key()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    pub fn list(&self) -> String {
        self.fake.list_id().to_owned()
    }
}

pub async fn read(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    Reply {
        status,
        content_type,
        body,
    }
}

impl Reply {
    /// Asserts a Mailchimp problem document with this status and title, and returns it.
    pub fn problem(&self, status: u16, title: &str) -> &Value {
        assert_eq!(self.status, status, "unexpected reply {self:#?}");
        assert!(
            self.content_type.starts_with("application/problem+json"),
            "content type {:?}",
            self.content_type
        );
        for field in ["type", "title", "status", "detail", "instance"] {
            assert!(
                self.body.get(field).is_some(),
                "problem lacks {field}: {}",
                self.body
            );
        }
        assert_eq!(self.body["title"], title, "{}", self.body);
        assert_eq!(self.body["status"], status);
        &self.body
    }

    /// Asserts a 200 and returns the body.
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "unexpected reply {self:#?}");
        &self.body
    }
}
