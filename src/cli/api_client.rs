//! How a command sends DynamoDB requests to a region's API (`restore
//! --table`, `index wait`, drills): over HTTPS when the node config serves the API
//! over it (`--config`, else the running `meridian up`'s, as the admin
//! commands do), signed with SigV4 when the environment holds credentials
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, as
//! the AWS CLI reads them), for regions with `auth = "sigv4"`.

use std::net::SocketAddr;

use anyhow::bail;
use serde_json::Value;

use super::http::{self, Access};
use super::locate::{RegionEndpoint, START_HINT, access, explain_unreachable_at};
use super::signer::{ACCESS_KEY_ENV, SECRET_KEY_ENV, Signer};

/// One region's DynamoDB API, as a command reaches it.
pub struct ApiClient {
    region: String,
    addr: SocketAddr,
    access: Access,
    signer: Option<Signer>,
}

impl ApiClient {
    /// The API of the region `place` names, reached as its node config
    /// says, with the environment's credentials when there are some.
    pub fn for_region(place: &RegionEndpoint) -> anyhow::Result<ApiClient> {
        ApiClient::new(&place.region, place.address()?, access(place.config.as_deref())?)
    }

    /// The API of `region` at `addr`, reached as `access` says, with the
    /// environment's credentials when there are some.
    pub fn new(region: &str, addr: SocketAddr, access: Access) -> anyhow::Result<ApiClient> {
        Ok(ApiClient {
            region: region.to_string(),
            addr,
            access,
            signer: Signer::from_env(region)?,
        })
    }

    /// The API at `addr` over plain HTTP, unsigned (the bench's own regions).
    pub fn plain(addr: SocketAddr) -> ApiClient {
        ApiClient {
            region: String::new(),
            addr,
            access: Access::default(),
            signer: None,
        }
    }

    /// The API's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How the region's admin surface is reached (token, TLS).
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// `http://ADDR` or `https://ADDR`, for messages.
    pub fn url(&self) -> String {
        format!("{}://{}", self.access.scheme(), self.addr)
    }

    /// A keep-alive connection to the API (TLS when it serves HTTPS).
    pub async fn connect(&self) -> anyhow::Result<http::Sender> {
        http::connect_with(&self.addr.to_string(), self.access.tls.as_ref()).await
    }

    /// Sends the DynamoDB request `operation` with `body` on `sender`,
    /// signed when there are credentials: its status and JSON answer.
    pub async fn send_on(
        &self,
        sender: &mut http::Sender,
        operation: &str,
        body: &Value,
    ) -> anyhow::Result<(u16, Value)> {
        let host = self.addr.to_string();
        let mut headers = http::dynamodb_headers(operation).to_vec();
        if let Some(signer) = &self.signer {
            let target = &headers[1].1;
            let signed = signer.headers(&host, target, body.to_string().as_bytes());
            headers.extend(signed);
        }
        http::send(sender, &host, "POST", "/", &headers, Some(body)).await
    }

    /// `send_on` a new connection.
    pub async fn request(&self, operation: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        let mut sender = self.connect().await?;
        self.send_on(&mut sender, operation, body).await
    }

    /// Sends one DynamoDB request and returns its JSON answer, or the error
    /// DynamoDB's way (`Type: message`).
    pub async fn call(&self, operation: &str, body: &Value) -> anyhow::Result<Value> {
        let host = self.addr.to_string();
        let (status, answer) = self
            .request(operation, body)
            .await
            .map_err(|error| explain_unreachable_at(error, &self.region, self.access.scheme(), &host))?;
        if (200..300).contains(&status) {
            return Ok(answer);
        }
        let Some(kind) = answer["__type"].as_str() else {
            bail!("{operation} at {}: {status} {answer}; {START_HINT}", self.url());
        };
        let kind = kind.rsplit('#').next().unwrap_or(kind);
        let message = answer["message"].as_str().unwrap_or("");
        if kind == "MissingAuthenticationTokenException" && self.signer.is_none() {
            bail!("{kind}: {message} (the region requires SigV4: set {ACCESS_KEY_ENV} and {SECRET_KEY_ENV})");
        }
        bail!("{kind}: {message}")
    }
}

/// Sends one DynamoDB request to the plain, unsigned API at `addr` (see
/// `ApiClient::call`).
pub async fn call(addr: SocketAddr, operation: &str, body: &Value) -> anyhow::Result<Value> {
    ApiClient::plain(addr).call(operation, body).await
}
