//! blend on a real Ballista cluster on one machine: a scheduler and two executors started
//! as `blend cluster …` processes on free loopback ports, each executor with its own work
//! folder, and `blend run --cluster` as the client. The document stages must give what a
//! local run gives (same stage rows, byte-identical shards), both executors must have
//! worked, and a job that loses an executor must end (done, or a clear error) and finish
//! on a re-run from its cached stages. Every process is killed when a test ends, failed
//! or not.

mod equality;
mod executor_kill;
mod processes;
