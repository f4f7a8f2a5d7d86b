//! The listening socket and its accept loop: every connection gets its own [`Session`]
//! task, and everything stops when the [`Sandbox`] is stopped or dropped.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::faults::Faults;
use crate::pbx::Pbx;
use crate::session::Session;

/// Why a sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The listening address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
}

/// A running sandbox PBX serving AMI; dropping it stops it.
#[derive(Debug)]
pub struct Sandbox {
    pbx: Arc<Pbx>,
    local_addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Starts serving `config` on a free loopback port (see [`Sandbox::local_addr`]).
    pub async fn start(config: Config) -> Result<Sandbox, StartError> {
        Sandbox::bind(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts serving `config` on `addr`; port 0 picks a free port.
    pub async fn bind(addr: SocketAddr, config: Config) -> Result<Sandbox, StartError> {
        config.validate()?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let pbx = Arc::new(Pbx::new(config));
        let accept = tokio::spawn(accept_loop(listener, pbx.clone()));
        Ok(Sandbox {
            pbx,
            local_addr,
            accept: Some(accept),
        })
    }

    /// Where AMI listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Replaces the faults of connections accepted from now on (open ones keep theirs),
    /// e.g. to let a client reconnect after a dropped connection.
    pub fn set_faults(&self, faults: Faults) {
        self.pbx.set_faults(faults);
    }

    /// Stops listening, closes every connection and ends every call; returns once the
    /// listening socket is closed.
    pub async fn stop(mut self) {
        self.pbx.shutdown().cancel();
        if let Some(accept) = self.accept.take() {
            let _ = accept.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.pbx.shutdown().cancel();
    }
}

/// Accepts connections until the sandbox stops.
async fn accept_loop(listener: TcpListener, pbx: Arc<Pbx>) {
    let shutdown = pbx.shutdown().clone();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                tracing::debug!(%peer, "AMI connection");
                let _ = stream.set_nodelay(true);
                let (reader, writer) = stream.into_split();
                tokio::spawn(Session::new(pbx.clone(), reader, writer).run());
            }
            Err(error) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tracing::warn!(%error, "accepting an AMI connection failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}
