//! `blend cluster scheduler` and `blend cluster executor`: the two roles of a Ballista
//! cluster, from this binary, with blend's operators on board. A pipeline then runs on it
//! with `blend run --cluster df://HOST:PORT pipeline.toml`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use blend_distributed::roles::{ExecutorOptions, SchedulerOptions, run_executor, run_scheduler};
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(subcommand)]
    pub role: ClusterRole,
}

#[derive(Debug, Subcommand)]
pub enum ClusterRole {
    /// Run a Ballista scheduler: clients submit stages to it, executors register with it.
    Scheduler(SchedulerArgs),
    /// Run a Ballista executor with blend's operators; it works for the scheduler it names.
    Executor(ExecutorArgs),
}

#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// Address to listen on (clients use df://ADDRESS).
    #[arg(long, default_value = "127.0.0.1:50050")]
    pub bind: SocketAddr,
    /// Seconds without a heartbeat after which an executor is taken as lost.
    #[arg(long, default_value_t = 30)]
    pub executor_timeout: u64,
}

#[derive(Debug, Args)]
pub struct ExecutorArgs {
    /// The scheduler, HOST:PORT.
    #[arg(long)]
    pub scheduler: String,
    /// Folder for this executor's shuffle files.
    #[arg(long)]
    pub work_dir: PathBuf,
    /// Tasks run at once (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub vcores: usize,
    /// Address of this executor's Arrow Flight service (shuffle reads); its gRPC service
    /// listens on the next port unless --grpc-port says otherwise.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub bind: SocketAddr,
    #[arg(long)]
    pub grpc_port: Option<u16>,
    /// Seconds between heartbeats to the scheduler.
    #[arg(long, default_value_t = 5)]
    pub heartbeat: u64,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Ballista's planners recurse over deep plans; its own binaries use 32 MiB stacks.
        .thread_stack_size(32 << 20)
        .build()
        .context("cannot start the async runtime")
}

pub fn run(args: ClusterArgs) -> anyhow::Result<()> {
    match args.role {
        ClusterRole::Scheduler(args) => scheduler(&args),
        ClusterRole::Executor(args) => executor(&args),
    }
}

fn scheduler(args: &SchedulerArgs) -> anyhow::Result<()> {
    let options = SchedulerOptions {
        bind: args.bind,
        executor_timeout_seconds: args.executor_timeout,
    };
    runtime()?.block_on(run_scheduler(options))?;
    Ok(())
}

fn executor(args: &ExecutorArgs) -> anyhow::Result<()> {
    let (host, port) = args
        .scheduler
        .rsplit_once(':')
        .with_context(|| format!("--scheduler `{}`: expected HOST:PORT", args.scheduler))?;
    let scheduler_port: u16 = port
        .parse()
        .with_context(|| format!("--scheduler `{}`: `{port}` is not a port", args.scheduler))?;
    let grpc_port = match args.grpc_port {
        Some(port) => port,
        None => args
            .bind
            .port()
            .checked_add(1)
            .context("--bind: no port after it for gRPC; give --grpc-port")?,
    };
    let options = ExecutorOptions {
        scheduler_host: host.to_string(),
        scheduler_port,
        bind_host: args.bind.ip().to_string(),
        port: args.bind.port(),
        grpc_port,
        work_dir: std::path::absolute(&args.work_dir)
            .with_context(|| format!("--work-dir {}", args.work_dir.display()))?,
        vcores: args.vcores,
        heartbeat_seconds: args.heartbeat,
    };
    runtime()?.block_on(run_executor(options))?;
    Ok(())
}
