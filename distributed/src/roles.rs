//! The cluster roles `blend cluster scheduler` and `blend cluster executor`: Ballista's
//! own scheduler and executor processes, given blend's session builder, function registry
//! and codecs through their extension points.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;

use crate::codec::{BlendLogicalCodec, BlendPhysicalCodec};
use crate::session::{blend_session_config, blend_session_state};
use crate::{DistributedError, Result};

/// Settings of `blend cluster scheduler`.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    pub bind: SocketAddr,
    /// Seconds without a heartbeat after which an executor is taken as lost and its tasks
    /// are scheduled again elsewhere.
    pub executor_timeout_seconds: u64,
}

/// Settings of `blend cluster executor`.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    pub scheduler_host: String,
    pub scheduler_port: u16,
    /// Address other executors and the client fetch this executor's shuffle files from.
    pub bind_host: String,
    /// Arrow Flight port (shuffle reads).
    pub port: u16,
    /// gRPC port (tasks from the scheduler).
    pub grpc_port: u16,
    /// Where this executor writes its shuffle files.
    pub work_dir: PathBuf,
    pub vcores: usize,
    pub heartbeat_seconds: u64,
}

fn role_error(role: &'static str, error: impl std::fmt::Display) -> DistributedError {
    DistributedError::Role {
        role,
        message: error.to_string(),
    }
}

/// The scheduler's configuration: blend's session builder and codecs.
pub fn scheduler_config(options: &SchedulerOptions) -> SchedulerConfig {
    SchedulerConfig {
        bind_host: options.bind.ip().to_string(),
        bind_port: options.bind.port(),
        external_host: options.bind.ip().to_string(),
        executor_timeout_seconds: options.executor_timeout_seconds,
        expire_dead_executor_interval_seconds: (options.executor_timeout_seconds / 2).clamp(1, 15),
        no_executors_grace_period_seconds: options.executor_timeout_seconds,
        override_config_producer: Some(Arc::new(blend_session_config)),
        override_session_builder: Some(Arc::new(blend_session_state)),
        override_logical_codec: Some(Arc::new(BlendLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(BlendPhysicalCodec::default())),
        ..SchedulerConfig::default()
    }
}

/// Runs the scheduler until the process ends.
pub async fn run_scheduler(options: SchedulerOptions) -> Result<()> {
    let config = scheduler_config(&options);
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| role_error("scheduler", e))?;
    tracing::info!("blend cluster scheduler on {}", options.bind);
    start_server(cluster, options.bind, Arc::new(config))
        .await
        .map_err(|e| role_error("scheduler", e))
}

/// The executor's configuration: blend's functions, codecs and session config.
pub fn executor_config(options: &ExecutorOptions) -> Result<ExecutorProcessConfig> {
    let state =
        blend_session_state(blend_session_config()).map_err(|e| role_error("executor", e))?;
    Ok(ExecutorProcessConfig {
        bind_host: options.bind_host.clone(),
        external_host: Some(options.bind_host.clone()),
        port: options.port,
        grpc_port: options.grpc_port,
        scheduler_host: options.scheduler_host.clone(),
        scheduler_port: options.scheduler_port,
        vcores: options.vcores,
        work_dir: Some(options.work_dir.to_string_lossy().into_owned()),
        executor_heartbeat_interval_seconds: options.heartbeat_seconds,
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(&state))),
        override_config_producer: Some(Arc::new(blend_session_config)),
        override_logical_codec: Some(Arc::new(BlendLogicalCodec::default())),
        override_physical_codec: Some(Arc::new(BlendPhysicalCodec::default())),
        ..ExecutorProcessConfig::default()
    })
}

/// Runs an executor until the process ends or the scheduler stops it.
pub async fn run_executor(options: ExecutorOptions) -> Result<()> {
    std::fs::create_dir_all(&options.work_dir).map_err(|source| DistributedError::Io {
        path: options.work_dir.clone(),
        source,
    })?;
    let config = executor_config(&options)?;
    tracing::info!(
        "blend cluster executor: scheduler {}:{}, flight {}:{}, {} vcores, shuffle files in {}",
        options.scheduler_host,
        options.scheduler_port,
        options.bind_host,
        options.port,
        options.vcores,
        options.work_dir.display()
    );
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| role_error("executor", e))
}
