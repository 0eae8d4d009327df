//! The one session every role builds ([`blend_session_state`]): Ballista's configuration
//! with blend's codecs, DataFusion's functions and blend's UDFs. The scheduler uses it as
//! its session builder, executors take their function registry from it, and the client of
//! `blend run --cluster` ([`connect`]) talks to the scheduler through it.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::error::Result as DfResult;
use datafusion::execution::SessionState;
use datafusion::execution::registry::FunctionRegistry;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::codec::{BlendLogicalCodec, BlendPhysicalCodec};
use crate::{DistributedError, Result};

/// How long `connect` waits for the scheduler's port to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Ballista's session configuration with blend's codecs and plain Utf8 strings from
/// Parquet (as the local session reads them).
pub fn blend_session_config() -> SessionConfig {
    SessionConfig::new_with_ballista()
        .with_ballista_logical_extension_codec(Arc::new(BlendLogicalCodec::default()))
        .with_ballista_physical_extension_codec(Arc::new(BlendPhysicalCodec::default()))
        .set_bool(
            "datafusion.execution.parquet.schema_force_view_types",
            false,
        )
}

/// Ballista's default session state for `config`, with blend's UDFs registered.
pub fn blend_session_state(config: SessionConfig) -> DfResult<SessionState> {
    let mut state = ballista_core::utils::default_session_builder(config)?;
    for udf in blend_operators::udf::blend_udfs() {
        state.register_udf(udf)?;
    }
    Ok(state)
}

/// A client session on a running cluster.
#[derive(Clone)]
pub struct ClusterSession {
    pub ctx: SessionContext,
    pub url: String,
}

impl std::fmt::Debug for ClusterSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterSession")
            .field("url", &self.url)
            .finish()
    }
}

/// `HOST:PORT` of a `df://HOST:PORT` address.
pub fn scheduler_address(url: &str) -> Result<(String, u16)> {
    let bad = |problem: &str| DistributedError::BadUrl {
        url: url.to_string(),
        problem: problem.to_string(),
    };
    let rest = url
        .strip_prefix("df://")
        .ok_or_else(|| bad("it does not start with df://"))?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| bad("it names no port"))?;
    if host.is_empty() {
        return Err(bad("it names no host"));
    }
    let port = port
        .parse()
        .map_err(|_| bad(&format!("`{port}` is not a port number")))?;
    Ok((host.to_string(), port))
}

/// Connects to the scheduler at `url` (`df://HOST:PORT`), checking that it answers.
pub async fn connect(url: &str) -> Result<ClusterSession> {
    let (host, port) = scheduler_address(url)?;
    let unreachable = |message: String| DistributedError::Connect {
        url: url.to_string(),
        source: datafusion::error::DataFusionError::Execution(message),
    };
    let address = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| unreachable(e.to_string()))?
        .next()
        .ok_or_else(|| unreachable(format!("{host} resolves to no address")))?;
    TcpStream::connect_timeout(&address, CONNECT_TIMEOUT).map_err(|e| {
        unreachable(format!(
            "{e}; start one with `blend cluster scheduler --bind {host}:{port}`"
        ))
    })?;
    let state =
        blend_session_state(blend_session_config()).map_err(|e| DistributedError::Connect {
            url: url.to_string(),
            source: e,
        })?;
    let ctx = SessionContext::remote_with_state(&format!("df://{host}:{port}"), state)
        .await
        .map_err(|source| DistributedError::Connect {
            url: url.to_string(),
            source,
        })?;
    // Ballista's upgrade of the state keeps only its own function list: blend's go back on.
    for udf in blend_operators::udf::blend_udfs() {
        ctx.register_udf(udf.as_ref().clone());
    }
    Ok(ClusterSession {
        ctx,
        url: url.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_or_say_what_is_wrong() {
        assert_eq!(
            scheduler_address("df://127.0.0.1:50050").unwrap(),
            ("127.0.0.1".to_string(), 50050)
        );
        for (url, problem) in [
            ("http://h:1", "df://"),
            ("df://h", "no port"),
            ("df://:1", "no host"),
            ("df://h:x", "not a port"),
        ] {
            let error = scheduler_address(url).unwrap_err().to_string();
            assert!(error.contains(problem), "{url}: {error}");
        }
    }

    #[test]
    fn every_role_has_blends_functions() {
        let state = blend_session_state(blend_session_config()).unwrap();
        for name in [
            "blend_dedup_hash",
            "blend_minhash_band_keys",
            "blend_word_count",
        ] {
            assert!(state.scalar_functions().contains_key(name), "{name}");
        }
    }

    #[tokio::test]
    async fn an_absent_scheduler_is_named() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let error = connect(&format!("df://127.0.0.1:{port}"))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("blend cluster scheduler"), "{error}");
    }
}
