//! One region as a running unit: opens its engine, serves the API on a bound
//! listener, and shuts down in a fixed order (API, then the writer) on one
//! signal. Tests start nodes in-process on port 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, ApiState};
use crate::clock::Hlc;
use crate::config::{NodeConfig, RegionConfig};
use crate::engine::{Engine, EngineError};

/// Largest clock offset tolerated from peers before it is reported.
const MAX_CLOCK_OFFSET: Duration = Duration::from_millis(500);

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("cannot bind {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot open the region's store: {0}")]
    Engine(#[from] EngineError),
}

/// What a node needs to start.
pub struct NodeOptions {
    pub region: RegionConfig,
    /// Root data directory; the region keeps its files in `<root>/<region>`.
    pub data_root: PathBuf,
    pub config: NodeConfig,
}

/// A running region.
pub struct Node {
    /// Where the DynamoDB API listens.
    pub api_addr: SocketAddr,
    engine: Engine,
    stop: watch::Sender<bool>,
    api_task: JoinHandle<std::io::Result<()>>,
}

impl Node {
    /// Opens the region's store and starts serving.
    pub async fn start(options: NodeOptions) -> Result<Node, NodeError> {
        let region = &options.region;
        let listener = TcpListener::bind(region.api).await.map_err(|source| NodeError::Bind {
            addr: region.api,
            source,
        })?;
        let api_addr = listener.local_addr().map_err(|source| NodeError::Bind {
            addr: region.api,
            source,
        })?;
        let hlc = Hlc::new(region.clock_offset_ms, MAX_CLOCK_OFFSET);
        let dir = options.data_root.join(&region.name);
        let storage = options.config.storage.clone();
        let name = region.name.clone();
        let engine = tokio::task::spawn_blocking(move || Engine::open(&dir, &name, hlc, &storage))
            .await
            .map_err(|_| EngineError::Stopped)??;
        let (stop, mut stopped) = watch::channel(false);
        let state = Arc::new(ApiState::new(
            engine.clone(),
            options.config.clone(),
            format!("{api_addr}"),
        ));
        let shutdown = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        let api_task = tokio::spawn(api::serve(listener, state, shutdown));
        tracing::info!(region = %region.name, api = %api_addr, "region started");
        Ok(Node {
            api_addr,
            engine,
            stop,
            api_task,
        })
    }

    /// The region's engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Stops serving, waits for requests in flight, then stops the writer
    /// after it has committed what was queued.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.api_task.await;
        let engine = self.engine.clone();
        let _ = tokio::task::spawn_blocking(move || engine.shutdown()).await;
        tracing::info!(region = %self.engine.region(), "region stopped");
    }
}
